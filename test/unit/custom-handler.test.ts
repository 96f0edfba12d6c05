import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { runAgentStep } from '../../functions/agents/agent.ts';
import { loadCustomSteps } from '../../functions/agents/custom-handler.ts';
import { registerBundledModule } from '../../functions/core/bundled-modules.ts';
import { ConfigurationError } from '../../functions/core/errors.ts';
import { ScriptedModel } from '../../functions/models/scripted-model.ts';
import { agentDependencies } from '../support/agent-doubles.ts';
import { agentConfigOf, loadTelecomTeam } from '../support/telecom.ts';

const QUOTING_WORKER = new URL('../fixtures/teams/agents/quoting-worker.ts', import.meta.url).pathname;
const MISNAMED_STEPS = new URL('../fixtures/teams/agents/misnamed-steps.ts', import.meta.url).pathname;

const workEvent = (agentId: string) => ({
  step: 'work',
  taskId: 't-custom',
  stateName: 'Work',
  request: 'my bill is wrong',
  conversation: [],
  assignment: { agentId, functionArn: 'arn:aws:lambda:us-east-1:123456789012:function:x', instruction: 'Answer it.' },
});

describe('Function: loadCustomSteps', () => {
  it('loads the steps of a handler module', async () => {
    const steps = await loadCustomSteps(QUOTING_WORKER, 'worker');
    expect(Object.keys(steps)).toEqual(['work']);
  });

  it('refuses a step the role does not run and a step that is not a function, naming both', async () => {
    const loading = loadCustomSteps(MISNAMED_STEPS, 'worker');
    await expect(loading).rejects.toThrow(ConfigurationError);
    await expect(loading).rejects.toThrow(/step "classify" is not one a worker runs \(work\).*step "work" is not a function/);
  });

  it('names the module when it cannot be loaded', async () => {
    await expect(loadCustomSteps('/nowhere/agents/missing.ts', 'worker')).rejects.toThrow(/cannot load handler module \/nowhere\/agents\/missing\.ts/);
  });

  it('refuses a module without a default export of steps', async () => {
    const path = `/bundled/${randomUUID()}.ts`;
    registerBundledModule(path, { work: () => Promise.resolve({}) });
    await expect(loadCustomSteps(path, 'worker')).rejects.toThrow(/must export default defineAgentHandler/);
  });
});

describe('Function: runAgentStep', () => {
  describe('Feature: custom handler', () => {
    it("runs the handler's step instead of the generic one, with the agent's model", async () => {
      const team = await loadTelecomTeam();
      const config = agentConfigOf(team, 'billing');
      const custom = { ...config, agent: { ...config.agent, tools: [], handler: QUOTING_WORKER } };
      const result = await runAgentStep(workEvent('billing'), custom, agentDependencies(new ScriptedModel()));
      expect(result).toMatchObject({ agentId: 'billing', status: 'ANSWERED', answer: 'Quoted by hand: "my bill is wrong"' });
      expect(result.usage?.inputTokens).toBeGreaterThan(0);
    });

    it('runs the generic step for a step the handler leaves out', async () => {
      const team = await loadTelecomTeam();
      const config = agentConfigOf(team, 'billing');
      const path = `/bundled/${randomUUID()}.ts`;
      registerBundledModule(path, { default: {} });
      const custom = { ...config, agent: { ...config.agent, tools: [], handler: path } };
      const result = await runAgentStep(workEvent('billing'), custom, agentDependencies(new ScriptedModel()));
      expect(result).toMatchObject({ agentId: 'billing', answer: expect.stringMatching(/^Billing: I have reviewed the charges/) as unknown });
    });
  });
});
