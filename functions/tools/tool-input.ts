/**
 * Checks a tool call's input against the tool's JSON Schema before the tool runs: a model that
 * sends the wrong input gets told what is wrong (and may fix it), instead of the tool running on it.
 * A schema that cannot be compiled (a draft or keyword Ajv does not know) is not enforced: the tool
 * checks its own input then, as MCP servers do anyway.
 *
 * @example
 * ```ts
 * inputProblems(lookupInvoiceTool, { invoiceId: 'nope' }); // ['/invoiceId must match pattern "^INV-[0-9]{4}$"']
 * ```
 */
import { Ajv, type ValidateFunction } from 'ajv';
import type { Tool } from './tool.ts';

const ajv = new Ajv({ allErrors: true, strict: false });
const validators = new WeakMap<Tool, ValidateFunction | null>();

/** What is wrong with the input, one line per problem; empty when it fits (or the schema is not enforced). */
export function inputProblems(tool: Tool, input: Record<string, unknown>): string[] {
  const validate = validatorOf(tool);
  if (!validate || validate(input)) return [];
  return (validate.errors ?? []).map((error) => `${error.instancePath || '(input)'} ${error.message ?? 'is invalid'}`);
}

function validatorOf(tool: Tool): ValidateFunction | null {
  let validate = validators.get(tool);
  if (validate === undefined) {
    try {
      // Without its `$schema`: MCP servers declare draft-07, which is what Ajv checks by default.
      const { $schema: _draft, ...schema } = tool.spec.inputSchema;
      validate = ajv.compile(schema);
    } catch {
      validate = null;
    }
    validators.set(tool, validate);
  }
  return validate;
}
