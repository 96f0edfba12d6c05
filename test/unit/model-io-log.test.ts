import { Logger } from '@aws-lambda-powertools/logger';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { runAgentStep } from '../../functions/agents/agent.ts';
import { ScriptedModel } from '../../functions/models/scripted-model.ts';
import { agentDependencies } from '../support/agent-doubles.ts';
import { agentConfigOf, loadTelecomTeam } from '../support/telecom.ts';

/** Customer text that must stay out of the logs. */
const REQUEST = 'My card 4929-0000-1111-2222 was charged twice';

const workEvent = {
  step: 'work',
  taskId: 't-privacy',
  stateName: 'Work',
  request: REQUEST,
  conversation: [],
  assignment: { agentId: 'billing', functionArn: 'arn:aws:lambda:us-east-1:123456789012:function:x', instruction: 'Answer it.' },
};

describe('Function: withModelIoLog', () => {
  let written: string[];
  beforeEach(() => {
    written = [];
    // The real Powertools Logger, at the level agents log at; what it writes to stdout is kept.
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    });
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });

  async function logsOfStep(logModelIo: boolean): Promise<string> {
    const team = await loadTelecomTeam();
    const config = { ...agentConfigOf(team, 'billing'), ...(logModelIo ? { logModelIo } : {}) };
    const deps = { ...agentDependencies(new ScriptedModel()), logger: new Logger({ serviceName: 'legion-privacy-test', logLevel: 'DEBUG' }) };
    await runAgentStep(workEvent, config, deps);
    return written.join('');
  }

  it("keeps the agent's logs free of the prompt and the reply by default, even at DEBUG", async () => {
    const logs = await logsOfStep(false);

    expect(logs).not.toContain('4929-0000-1111-2222');
  });

  it('logs the prompt and the reply of each model call when legion:logModelIo is on', async () => {
    const logs = (await logsOfStep(true)).split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>);

    const call = logs.find((line) => line.message === 'model call (legion:logModelIo is on)');
    expect(call?.prompt).toContain(REQUEST);
    expect((call?.reply as { text: string } | undefined)?.text).toEqual(expect.any(String));
  });
});
