// The version printed by --version; kept in step with package.json by the release step.
export const VERSION = '0.1.0';

/** What every request says it comes from: registries' logs then tell which release sent it. */
export const USER_AGENT = `acr-import/${VERSION}`;
