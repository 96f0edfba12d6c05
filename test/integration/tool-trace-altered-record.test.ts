/**
 * A tool-call record altered after its run (its checksum no longer matches): a step never uses it
 * (recall fails closed, see tool-call-journal.test.ts), but the run's trace, which lists every
 * record of the task, shows it as altered instead of failing the whole run or resume.
 */
import { randomUUID } from 'node:crypto';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TOOL_CALL_SK_PREFIX, taskItemKey } from '../../functions/core/contract.ts';
import { parseTeam } from '../../functions/core/team.ts';
import { callFingerprint } from '../../functions/tools/tool-call-journal.ts';
import { withTestRuntime } from '../support/local-runtime.ts';
import { KNOWN_INVOICE, type McpHttpServer, startMcpHttpServer } from '../support/mcp-test-server.ts';

describe('Scenario: a tool-call record altered after its run', () => {
  let server: McpHttpServer;
  beforeAll(async () => {
    server = await startMcpHttpServer();
  });
  afterAll(() => server.close());

  it('still gives the resumed run its result (every step restored from its checkpoint)', async () => {
    const team = parseTeam(
      {
        name: 'mcp-altered',
        pattern: 'supervisor-worker',
        description: 'Looks invoices up.',
        fallbackAnswer: 'Tell me the invoice id.',
        agents: [
          { id: 'supervisor', role: 'supervisor', description: 'Routes.', capabilities: ['routing'], systemPrompt: 'You route requests.' },
          { id: 'clerk', role: 'worker', description: 'Looks invoices up.', capabilities: [KNOWN_INVOICE.invoiceId], systemPrompt: 'You look invoices up.', tools: [{ mcp: { url: server.url }, include: ['lookup_invoice'] }] },
        ],
        example: { request: KNOWN_INVOICE.invoiceId },
      },
      'runtime-corrupt-tool-record.test.ts',
    );
    const taskId = `altered-${randomUUID()}`;
    await withTestRuntime({}, async (runtime) => {
      expect((await runtime.run({ team, input: { request: KNOWN_INVOICE.invoiceId }, taskId })).status).toBe('SUCCEEDED');
      const Key = taskItemKey(team.name, taskId, `${TOOL_CALL_SK_PREFIX}Work#clerk#${callFingerprint('lookup_invoice', { invoiceId: KNOWN_INVOICE.invoiceId })}`);
      await runtime.db.documentClient().send(
        new UpdateCommand({
          TableName: runtime.db.tableName,
          Key,
          UpdateExpression: 'SET #body = :body',
          ConditionExpression: 'attribute_exists(#body)',
          ExpressionAttributeNames: { '#body': 'body' },
          ExpressionAttributeValues: { ':body': JSON.stringify({ content: 'altered', isError: false }) },
        }),
      );

      const resumed = await runtime.resume({ team, taskId });

      expect(resumed.status).toBe('SUCCEEDED');
      expect(resumed.trace.map((entry) => entry.state)).toEqual(['Classify', 'Work', 'Synthesize']);
      expect(resumed.trace[1]?.toolCalls).toEqual([expect.objectContaining({ name: 'lookup_invoice', ok: false })]);
    });
  });
});
