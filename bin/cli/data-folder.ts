import { existsSync } from 'node:fs';
import { UsageError } from '../../functions/core/errors.ts';

/**
 * The commands that read a task need the folder it ran with: a missing one is a usage error.
 *
 * @example
 * ```ts
 * requireDataDir('.legion');
 * ```
 * @throws {@link UsageError} when the folder does not exist
 */
export function requireDataDir(dataDir: string): void {
  if (!existsSync(dataDir)) throw new UsageError(`data folder ${dataDir} does not exist`);
}

