/**
 * Imports a module of the user's (a team file, a tool module, a custom handler) on the local
 * runtime and the CLI, whatever folder it is in. TypeScript and JavaScript go through tsx's scoped
 * loader, which compiles a file as its folder's package says: a `.ts` file outside an ESM package
 * is CommonJS, which a plain import fails on ("Cannot require() ES Module ... in a cycle"), and
 * CommonJS interop then wraps its exports once more (`__esModule`). Never part of a Lambda bundle:
 * there the modules are bundled and registered (bundled-modules.ts).
 *
 * @example
 * ```ts
 * const exports = await importModule('/home/me/teams/tools/invoices.ts'); // { lookupInvoice: ... }
 * ```
 */
import { pathToFileURL } from 'node:url';

/** Each module once per process, as a plain import would: each tsImport call evaluates it again and hooks in one more loader. */
const imported = new Map<string, Promise<Record<string, unknown>>>();

export function importModule(absolutePath: string): Promise<Record<string, unknown>> {
  let module = imported.get(absolutePath);
  if (!module) {
    module = load(absolutePath);
    // A module that failed to load is tried again next time, not remembered broken.
    module.catch(() => imported.delete(absolutePath));
    imported.set(absolutePath, module);
  }
  return module;
}

async function load(absolutePath: string): Promise<Record<string, unknown>> {
  const { tsImport } = await import('tsx/esm/api');
  const namespace = (await tsImport(pathToFileURL(absolutePath).href, import.meta.url)) as Record<string, unknown>;
  const exported = namespace.default;
  // CommonJS interop: the module's own exports are the namespace's default, marked __esModule.
  const interop = typeof exported === 'object' && exported !== null && (exported as { __esModule?: unknown }).__esModule === true;
  return interop ? (exported as Record<string, unknown>) : namespace;
}
