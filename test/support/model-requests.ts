/**
 * Test support: the request and the tools both provider tests (Bedrock Converse and
 * OpenAI-compatible) send, so that each test file only says how its provider puts them on the wire.
 */
import type { ModelRequest, ResponseFormat, ToolSpec } from '../../functions/models/model-provider.ts';

export const BILLING_REQUEST: ModelRequest = {
  modelTier: 'balanced',
  system: 'You answer billing questions.',
  prompt: 'Why is my bill higher this month?',
  maxTokens: 300,
  script: { kind: 'fixed', text: 'unused by real models' },
};

export const BILLING_TOOLS: ToolSpec[] = [
  {
    name: 'lookup_invoice',
    description: 'The amount and status of an invoice, by its id (INV-1234).',
    inputSchema: { type: 'object', properties: { invoiceId: { type: 'string', pattern: '^INV-[0-9]+$' } }, required: ['invoiceId'] },
  },
  {
    name: 'lookup_plan',
    description: "A customer's plan and its changes.",
    inputSchema: { type: 'object', properties: { customerId: { type: 'string' }, since: { type: 'string', format: 'date' } }, required: ['customerId'] },
  },
];

/** A structured reply both provider tests ask for: the routing decision of a supervisor. */
export const INTENTS_FORMAT: ResponseFormat = {
  name: 'intents',
  schema: { type: 'object', properties: { intents: { type: 'array', items: { type: 'string', enum: ['billing', 'tech'] } } }, required: ['intents'], additionalProperties: false },
};

/** The reply schema of the telecom supervisor's classify step, as the providers receive it. */
export const CLASSIFY_SCHEMA = {
  type: 'object',
  properties: { intents: { type: 'array', items: { type: 'string', enum: ['billing', 'technical-support', 'account-management'] } } },
  required: ['intents'],
  additionalProperties: false,
};
