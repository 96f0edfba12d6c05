/**
 * The starter custom handler `legion new --handler` writes for the billing worker of a
 * supervisor-worker team, and its vitest test, which runs the team on Legion's local runtime
 * (DynamoDB Local, the scripted model) and checks that the answer came from the handler.
 *
 * @example
 * ```ts
 * const source = starterHandler('../../functions/agents/custom-handler.ts');
 * ```
 */

/** What the starter handler's offline (scripted) answer starts with; its test looks for it. */
export const STARTER_HANDLER_MARK = 'Billing (custom handler)';

export function starterHandler(customHandlerModule: string): string {
  return `/**
 * The billing worker's own code for its \`work\` step (named by \`handler:\` in the team definition).
 * Everything around it stays as for any agent: the event and the result are checked against the
 * worker's schemas and invariants, the result is checkpointed, the model calls are budgeted.
 * Return { agentId, status: 'ANSWERED', answer, usage }.
 */
import { defineAgentHandler } from '${customHandlerModule}';

export default defineAgentHandler({
  work: async (event, { config, model }) => {
    const request = String(event.request);
    // Your code goes here: look data up, call a service, then ask the model with what you found.
    const reply = await model.converse({
      modelTier: config.agent.modelTier,
      system: config.agent.systemPrompt,
      prompt: \`Answer the billing part of this customer request: \${request}\`,
      maxTokens: 400,
      stateName: event.stateName,
      // What the scripted model (offline) answers; a real model reads the prompt.
      script: { kind: 'fixed', text: \`${STARTER_HANDLER_MARK}: I have checked the charges behind "\${request}".\` },
    });
    return { agentId: config.agent.id, status: 'ANSWERED', answer: reply.text, usage: reply.usage };
  },
});
`;
}

/** The test of the starter team with its handler; `legion(path)` is the import path of a Legion module. */
export function starterHandlerTest(teamName: string, legion: (path: string) => string): string {
  return `/**
 * The ${teamName} team with its billing handler, run offline on Legion's local runtime (DynamoDB
 * Local needs Java 17; the scripted model answers). Run it with \`npx vitest run\` in a project with
 * a vitest configuration of its own.
 */
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadTeamFile } from '${legion('functions/core/team.ts')}';
import { LocalRuntime } from '${legion('local/local-runtime.ts')}';

let runtime: LocalRuntime;

beforeAll(async () => {
  runtime = await LocalRuntime.start();
}, 60_000);

afterAll(async () => {
  await runtime.stop();
});

it('answers a billing request with the custom handler', async () => {
  const team = await loadTeamFile(fileURLToPath(new URL('../${teamName}.yaml', import.meta.url)));

  const result = await runtime.run({ team, input: { request: 'I was charged twice this month.' }, taskId: \`test-\${Date.now()}\` });

  expect(result.status).toBe('SUCCEEDED');
  expect(JSON.stringify(result.output)).toContain('${STARTER_HANDLER_MARK}');
}, 60_000);
`;
}
