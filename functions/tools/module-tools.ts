/**
 * Tools from a module of the user's: its export (`default` unless the team names another) is one
 * `defineTool(...)` or a list of them. Locally the module is imported from its path; in AWS, CDK
 * bundles it into the agent's function, whose entry registers it under the same path
 * (functions/core/bundled-modules.ts), so nothing is imported from a path that does not exist in Lambda.
 *
 * @example
 * ```ts
 * const tools = await loadModuleTools({ module: '/work/team/tools/invoices.ts', export: 'lookupInvoice' });
 * await tools[0].call({ invoiceId: 'INV-1001' }, context);
 * ```
 */
import { importUserModule } from '../core/bundled-modules.ts';
import { ConfigurationError } from '../core/errors.ts';
import { TOOL_NAME_PATTERN } from '../core/team-schema.ts';
import { type Tool, type ToolDefinition, toolOutputText } from './tool.ts';

export interface ModuleToolSource {
  /** The module's absolute path (the team loader resolves it from the team file's folder). */
  module: string;
  /** @default 'default' */
  export?: string | undefined;
}

/**
 * The tools a module exports.
 *
 * @throws {ConfigurationError} when the module cannot be loaded, lacks the export, or exports something other than tool definitions
 */
export async function loadModuleTools(source: ModuleToolSource): Promise<Tool[]> {
  const exportName = source.export ?? 'default';
  const exports = await importUserModule(source.module, 'tool module');
  if (!(exportName in exports)) {
    throw new ConfigurationError([`tool module ${source.module} has no export "${exportName}" (it exports: ${Object.keys(exports).join(', ') || 'nothing'})`]);
  }
  const exported = exports[exportName];
  const definitions = Array.isArray(exported) ? (exported as unknown[]) : [exported];
  return definitions.map((definition, index) => toTool(checkDefinition(definition, `${source.module}#${exportName}${Array.isArray(exported) ? `[${index}]` : ''}`)));
}

/** The export as a tool definition, or an error saying which part is missing. */
function checkDefinition(value: unknown, where: string): ToolDefinition {
  const candidate = (value ?? {}) as Partial<ToolDefinition>;
  const problems = [
    typeof candidate.name === 'string' && TOOL_NAME_PATTERN.test(candidate.name) ? undefined : 'a name of 1-64 letters, digits, _ or -',
    typeof candidate.description === 'string' && candidate.description.length > 0 ? undefined : 'a description',
    isObjectSchema(candidate.inputSchema) ? undefined : 'an inputSchema of type "object"',
    typeof candidate.run === 'function' ? undefined : 'a run function',
  ].filter((problem) => problem !== undefined);
  if (problems.length > 0) throw new ConfigurationError([`tool ${where} is not a defineTool(...) definition: it needs ${problems.join(', ')}`]);
  return candidate as ToolDefinition;
}

function isObjectSchema(schema: unknown): boolean {
  return typeof schema === 'object' && schema !== null && (schema as { type?: unknown }).type === 'object';
}

function toTool(definition: ToolDefinition): Tool {
  const { name, description, inputSchema } = definition;
  return {
    spec: { name, description, inputSchema },
    call: async (input, context) => toolOutputText(await definition.run(input, context)),
  };
}
