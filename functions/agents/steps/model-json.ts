import { AgentOutputError } from '../../core/errors.ts';

/** Parses the first JSON object in a model reply (models often wrap JSON in prose or fences). */
export function parseModelJson(agentId: string, text: string): unknown {
  const start = text.indexOf('{');
  const end = text.lastIndexOf('}');
  if (start < 0 || end < start) throw new AgentOutputError(agentId, 'reply holds no JSON object');
  try {
    return JSON.parse(text.slice(start, end + 1));
  } catch {
    throw new AgentOutputError(agentId, 'reply holds malformed JSON');
  }
}
