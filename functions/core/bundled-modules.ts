/**
 * Modules of the user's (tool modules, custom handlers) by the path their team definition gives.
 * Locally they are imported from that path. In AWS the path does not exist: CDK bundles them into
 * the agent's function, whose generated entry (lib/agent-entry.ts) registers each here first.
 *
 * @example
 * ```ts
 * registerBundledModule('/work/team/tools/invoices.ts', invoicesModule); // the generated entry does this
 * const exports = await importUserModule('/work/team/tools/invoices.ts', 'tool module');
 * ```
 */
import { pathToFileURL } from 'node:url';
import { ConfigurationError } from './errors.ts';

const bundledModules = new Map<string, Record<string, unknown>>();

/** How a module that is not bundled is imported: a plain import, unless the local runtime gives its own (useModuleLoader). */
let loadModule = async (path: string): Promise<Record<string, unknown>> => (await import(pathToFileURL(path).href)) as Record<string, unknown>;

/**
 * Sets how modules that are not bundled are imported. The local runtime and the CLI give one that
 * takes TypeScript from any folder (import-module.ts), which a Lambda bundle must not carry.
 */
export function useModuleLoader(loader: (path: string) => Promise<Record<string, unknown>>): void {
  loadModule = loader;
}

/**
 * Where the parts of an agent's definition too long for the function's environment are registered,
 * as `{ systemPrompt, tools? }`: the prompt always, its tools when they are bundled too.
 */
export const BUNDLED_SYSTEM_PROMPT = 'legion:system-prompt';

/**
 * What an agent's settings hold instead of a system prompt that travels with the function's code
 * (lib/agent-function.ts puts it there; readAgentConfig takes the prompt from the bundle).
 */
export const BUNDLED_SYSTEM_PROMPT_MARKER = '(bundled with the function code)';

/** The system prompt bundled with the function, if its entry registered one. */
export function bundledSystemPrompt(): string | undefined {
  const prompt = bundledModules.get(BUNDLED_SYSTEM_PROMPT)?.systemPrompt;
  return typeof prompt === 'string' ? prompt : undefined;
}

/** The agent's tools bundled with the function (unchecked: the configuration reader checks them), if its entry registered them. */
export function bundledTools(): unknown {
  return bundledModules.get(BUNDLED_SYSTEM_PROMPT)?.tools;
}

/** Makes a bundled module's exports available under its path in the team definition. */
export function registerBundledModule(path: string, exports: Record<string, unknown>): void {
  bundledModules.set(path, exports);
}

/**
 * The exports of a user's module: the bundled one registered under its path, else the file.
 *
 * @param what - what the module is, for the error (`tool module`, `handler module`)
 * @throws {ConfigurationError} naming the module when it cannot be loaded
 */
export async function importUserModule(path: string, what: string): Promise<Record<string, unknown>> {
  const bundled = bundledModules.get(path);
  if (bundled) return bundled;
  try {
    return await loadModule(path);
  } catch (error) {
    throw new ConfigurationError([`cannot load ${what} ${path}: ${(error as Error).message}`]);
  }
}
