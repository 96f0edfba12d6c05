/**
 * Where Legion's own files are, whether it runs from its TypeScript sources (a clone: this module is
 * `functions/core/package-files.ts`) or from the built package (`dist/functions/core/package-files.js`).
 * The package ships the data files (the ASL files, the example teams, the JSON Schema) where the
 * repository has them, and its modules built under dist/.
 *
 * @example
 * ```ts
 * const asl = packageFile('statemachines/pipeline.asl.json');
 * const entry = packageModule('functions/agents/agent.lambda.ts');
 * ```
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Built modules are one folder deeper (under dist/) than their sources. */
const BUILT = import.meta.url.endsWith('.js');

/** The folder Legion's package.json is in. */
export const PACKAGE_ROOT = fileURLToPath(new URL(BUILT ? '../../../' : '../../', import.meta.url));

/** The absolute path of a file of the package, from its path in the repository (`functions/agents/agent.lambda.ts`). */
export function packageFile(path: string): string {
  return join(PACKAGE_ROOT, path);
}

/**
 * The absolute path of one of Legion's modules, from its source path: the source itself in a clone,
 * the built module in the package. Lambda entries are bundled from it, so a user's module that
 * imports `agent-legion/...` shares the bundle's one copy of what it imports.
 */
export function packageModule(sourcePath: string): string {
  return BUILT ? join(PACKAGE_ROOT, 'dist', sourcePath.replace(/\.ts$/, '.js')) : join(PACKAGE_ROOT, sourcePath);
}
