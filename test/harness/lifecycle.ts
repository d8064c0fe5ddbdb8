/**
 * Ties a privately started server to the test that needs it, so it is stopped
 * even when the test fails.
 *
 * vitest silently ignores afterAll() registered while a test or a beforeAll
 * runs, so:
 *  - inside a test      -> stopped when that test finishes (onTestFinished);
 *  - at file / describe level (collection time) -> stopped in afterAll;
 *  - inside beforeAll   -> do not use this; return the stop function instead:
 *      beforeAll(async () => { reg = await startRegistry(); return () => reg.stop(); });
 */
import { afterAll, onTestFinished } from 'vitest';

export async function stopAfterAll<T extends { stop(): Promise<void> }>(started: Promise<T> | T): Promise<T> {
  let inTest = true;
  let resource: T | undefined;
  try {
    onTestFinished(async () => {
      await (await started).stop();
    });
  } catch {
    inTest = false;
  }
  if (!inTest) {
    afterAll(async () => {
      await resource?.stop();
    });
  }
  resource = await started;
  return resource;
}
