// The layers of src/, top to bottom; a module imports only from its own layer or the ones below it,
// and no two modules import each other (directly or round a longer cycle). `npm run lint:layers`
// checks it, and test/unit/layers.test.ts runs that check.
const LAYERS = ['cli', 'commands', 'output', 'providers', 'copy', 'content', 'auth', 'transport', 'oci'];

/** One rule per layer: nothing below it imports it. */
const upward = LAYERS.slice(0, -1).map((layer, i) => ({
  name: `no-upward-import-of-${layer}`,
  comment: `${layer}/ is above ${LAYERS.slice(i + 1).join(', ')}: they must not import it`,
  severity: 'error',
  from: { path: `^src/(${LAYERS.slice(i + 1).join('|')})/` },
  to: { path: `^src/${layer}/` },
}));

/** The leaves (errors.ts, logger.ts, text/, version.ts) import no layer. */
const leaves = {
  name: 'leaves-import-no-layer',
  severity: 'error',
  from: { path: '^src/(errors|logger|version)\\.ts$|^src/text/' },
  to: { path: `^src/(${LAYERS.join('|')})/` },
};

module.exports = {
  forbidden: [
    ...upward,
    leaves,
    { name: 'no-cycle', comment: 'no two modules import each other', severity: 'error', from: { path: '^src/' }, to: { circular: true } },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // Type-only imports count: a type from a higher layer is still a dependency on it.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    exclude: { path: '^(node_modules|dist)/' },
  },
};
