/**
 * What an agent's tool is to the tool loop: a specification the model sees (name, description, a
 * JSON Schema for the input) and a call. Tools come from a module of the user's (`defineTool`), an
 * MCP server, or (in AWS) a Lambda function; they all look like this once loaded.
 *
 * @example
 * ```ts
 * export const lookupInvoice = defineTool({
 *   name: 'lookup_invoice',
 *   description: 'The amount and status of an invoice, by its id (INV-1234).',
 *   inputSchema: { type: 'object', properties: { invoiceId: { type: 'string', pattern: '^INV-[0-9]+$' } }, required: ['invoiceId'] },
 *   run: ({ invoiceId }) => invoices.get(String(invoiceId)),
 * });
 * ```
 */
import type { ToolSpec } from '../models/model-provider.ts';

/** What a tool call gets besides its input. */
export interface ToolCallContext {
  /** Aborted when the call's timeout passes: a tool that can stop early should. */
  signal: AbortSignal;
  /**
   * The same for every attempt at this call of this step (a retried or resumed step): a tool with
   * side effects outside Legion can use it to do them once.
   */
  idempotencyKey: string;
}

/** A loaded tool. `call` resolves to the text the model gets, or throws: the error goes back to the model as a tool error. */
export interface Tool {
  spec: ToolSpec;
  call(input: Record<string, unknown>, context: ToolCallContext): Promise<string>;
}

/** A tool as a user's module defines it: `run` may return text or any JSON value. */
export interface ToolDefinition<Input extends Record<string, unknown> = Record<string, unknown>> extends ToolSpec {
  run(input: Input, context: ToolCallContext): unknown;
}

/**
 * Declares a tool in a module of one's own; name the module (and the export) in the agent's `tools`.
 * It only types the definition: the loader checks the shape of what the module exports.
 */
export function defineTool<Input extends Record<string, unknown> = Record<string, unknown>>(definition: ToolDefinition<Input>): ToolDefinition<Input> {
  return definition;
}

/** The text a tool's return value gives the model: text as it is, anything else as JSON. */
export function toolOutputText(value: unknown): string {
  if (typeof value === 'string') return value;
  return JSON.stringify(value ?? null);
}
