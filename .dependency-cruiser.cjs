/* global module */
/**
 * The import rules of Legion's product code (`npm run deps`, part of `npm test`): no circle
 * anywhere, and imports run one way: bin/ and bench/ → local/ → functions/ and lib/ → functions/core/.
 * @type {import('dependency-cruiser').IConfiguration}
 */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'A circle of imports (type-only imports included) makes modules load half-initialised and hides which depends on which.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'core-imports-only-core',
      severity: 'error',
      comment: 'functions/core/ is what everything shares; it must not reach up into the concerns, patterns, agents or control functions.',
      from: { path: '^functions/core/' },
      to: { path: '^(functions/(?!core/)|lib/|local/|bin/|bench/|test/)' },
    },
    {
      name: 'functions-and-lib-do-not-import-runtimes',
      severity: 'error',
      comment: 'Lambda code and constructs run in AWS: they must not import the local runtime, the CLI, the benchmarks or the tests.',
      from: { path: '^(functions|lib)/' },
      to: { path: '^(local|bin|bench|test)/' },
    },
    {
      name: 'functions-do-not-import-constructs',
      severity: 'error',
      comment: 'Lambda code is bundled into functions; CDK constructs belong to synth time.',
      from: { path: '^functions/' },
      to: { path: '^lib/' },
    },
    {
      name: 'local-does-not-import-cli',
      severity: 'error',
      comment: 'The local runtime is a library the CLI, the benchmarks and the tests use, not the other way round.',
      from: { path: '^local/' },
      to: { path: '^(bin|bench|test)/' },
    },
    {
      name: 'cli-does-not-import-benchmarks-or-tests',
      severity: 'error',
      from: { path: '^bin/' },
      to: { path: '^(bench|test)/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|cdk\\.out)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js', '.mjs', '.json'] },
  },
};
