/**
 * The project Legion's functions are bundled in: CDK's esbuild bundling runs in a project folder,
 * the one holding the lock file, and bundles only entries inside it. In a clone of Legion that is
 * the clone; when Legion is installed as a package, it is the project whose node_modules hold it.
 *
 * @example
 * ```ts
 * const { root, lockFile } = bundlingProject();
 * new NodejsFunction(this, 'Fn', { entry, projectRoot: root, depsLockFilePath: lockFile });
 * ```
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { PACKAGE_ROOT } from '../functions/core/package-files.ts';

/** The lock files CDK's NodejsFunction knows, in the order it looks for them. */
const LOCK_FILES = ['pnpm-lock.yaml', 'yarn.lock', 'bun.lockb', 'package-lock.json'] as const;

export interface BundlingProject {
  /** The folder the bundling runs in (CDK's `projectRoot`). */
  readonly root: string;
  /** Its lock file (CDK's `depsLockFilePath`). */
  readonly lockFile: string;
}

let found: BundlingProject | undefined;

/**
 * The nearest folder at or above Legion's package folder that holds a lock file.
 *
 * @throws Error when there is none: the functions could not be bundled
 */
export function bundlingProject(): BundlingProject {
  found ??= nearestLockFile(PACKAGE_ROOT);
  return found;
}

function nearestLockFile(start: string): BundlingProject {
  for (let folder = start; ; folder = dirname(folder)) {
    const lockFile = LOCK_FILES.map((name) => join(folder, name)).find((path) => existsSync(path));
    if (lockFile !== undefined) return { root: folder, lockFile };
    if (dirname(folder) === folder) {
      throw new Error(
        `Legion bundles its Lambda functions in the project it is installed in, but no lock file (${LOCK_FILES.join(', ')}) ` +
          `was found in ${start} or above it: install your project's dependencies (npm install) first`,
      );
    }
  }
}
