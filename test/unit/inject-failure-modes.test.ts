/**
 * `--inject` for the failure modes (bin/cli/inject.ts): `loop`, `loop:stubborn` and
 * `hallucination` parsed into scripted-model scenarios, and the UsageErrors for a wrong pattern, an
 * unknown variant and extra values. The CLI's exit code 2 for a UsageError is covered by the CLI
 * tests (test/integration/cli.test.ts); here parseInjection and parseInjections are called
 * directly. The scenarios returned are checked by what they do to a reply, not by their identity.
 * No `crash:` injection returned here is ever called (it would SIGKILL the test process).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { parseInjection, parseInjections } from '../../bin/cli/inject.ts';
import { UsageError } from '../../functions/core/errors.ts';
import type { ModelRequest } from '../../functions/models/model-provider.ts';
import type { ScriptedScenario } from '../../functions/models/scripted-model.ts';
import { type TeamDefinition, loadTeamFile } from '../../functions/core/team.ts';
import { fabricatedStatistic } from '../../local/scenarios/hallucination.ts';

const REPLY = 'Draft of the brief: the introduction states the problem.';
const RULING = 'Binding decision (conflict rule): editor outranks you on this; follow its instruction: formal tone.';

/** A model request of `agentId` in `stateName` with `prompt` (what a scenario reads). */
function request(agentId: string, prompt: string, stateName = 'RunStage'): ModelRequest {
  return { modelTier: 'balanced', system: 'system', prompt, maxTokens: 512, script: { kind: 'fixed', text: REPLY }, stateName, agentId };
}

function onlyScenario(scenarios: readonly ScriptedScenario[] | undefined): ScriptedScenario {
  expect(scenarios).toHaveLength(1);
  const [scenario] = scenarios ?? [];
  if (!scenario) throw new Error('no scenario');
  return scenario;
}

describe('Function: parseInjection (failure modes)', () => {
  let pipeline: TeamDefinition;
  let peerReview: TeamDefinition;

  beforeAll(async () => {
    pipeline = await loadTeamFile('teams/content-pipeline.yaml');
    peerReview = await loadTeamFile('teams/peer-review.yaml');
  });

  describe('loop', () => {
    it('gives one scenario for the scripted model, and nothing else', () => {
      // Act
      const injection = parseInjection('loop', 'pipeline', pipeline);

      // Assess
      expect(Object.keys(injection)).toEqual(['scenarios']);
      expect(injection.scenarios).toEqual([expect.any(Function)]);
    });

    it("plays the writer-editor loop: the editor hands a casual draft back, the writer follows a ruling", () => {
      // Arrange
      const scenario = onlyScenario(parseInjection('loop', 'pipeline', pipeline).scenarios);

      // Act
      const draft = scenario(request('writer', 'Brief: agent teams'), REPLY);
      const handedBack = scenario(request('editor', `Output of the previous stage:\n${draft}`), 'Edited article.');
      const ruled = scenario(request('writer', `Brief: agent teams\n${RULING}`), REPLY);
      const afterRuling = scenario(request('editor', `Output of the previous stage:\n${draft}\n${RULING.replace('follow its', 'see its')}`), 'Edited article.');

      // Assess
      expect(draft.startsWith(REPLY)).toBe(true);
      expect(draft).toMatch(/casual/i);
      expect(handedBack).toMatch(/^HAND BACK: /);
      expect(ruled).toMatch(/formal/i);
      expect(ruled).not.toMatch(/casual/i);
      // The editor bound by a ruling does not hand back again.
      expect(afterRuling).toBe('Edited article.');
      // Other stages are left alone.
      expect(scenario(request('researcher', 'Brief: agent teams'), 'Notes.')).toBe('Notes.');
    });

    it('loop:stubborn gives one scenario whose writer ignores the ruling, and whose editor hands back regardless', () => {
      // Arrange
      const scenario = onlyScenario(parseInjection('loop:stubborn', 'pipeline', pipeline).scenarios);

      // Act
      const ruled = scenario(request('writer', `Brief: agent teams\n${RULING}`), REPLY);
      const handedBack = scenario(request('editor', `Output of the previous stage:\n${ruled}\n${RULING}`), 'Edited article.');

      // Assess
      expect(ruled).toMatch(/casual/i);
      expect(ruled).not.toMatch(/formal/i);
      expect(handedBack).toMatch(/^HAND BACK: /);
    });

    it('refuses a pipeline team with a single stage (nothing to loop with)', () => {
      const oneStage: TeamDefinition = { ...pipeline, agents: pipeline.agents.filter((agent) => agent.role !== 'stage' || agent.id === 'writer') };
      expect(() => parseInjection('loop', 'pipeline', oneStage)).toThrow(UsageError);
    });
  });

  describe('hallucination', () => {
    it('gives one scenario in which the first peer states a fabricated statistic in its proposal', () => {
      // Arrange
      const scenario = onlyScenario(parseInjection('hallucination', 'peer-to-peer', peerReview).scenarios);
      const statistic = fabricatedStatistic(peerReview);
      const [firstPeer] = peerReview.agents.filter((agent) => agent.role === 'peer');
      const proposal = JSON.stringify({ proposal: 'Cache the sessions.', claims: [] });

      // Act
      const reply = scenario(request(firstPeer?.id ?? '', 'Propose an answer.', 'Propose'), proposal);

      // Assess
      expect(JSON.parse(reply)).toMatchObject({ proposal: `Cache the sessions. ${statistic.sentence}`, claims: [{ fact: statistic.fact, value: statistic.value }] });
    });
  });

  describe('a wrong pattern', () => {
    it.each([
      ['loop', 'supervisor-worker', '--inject loop: reproduced offline in pipeline, peer-to-peer, not in supervisor-worker'],
      ['loop:stubborn', 'auction', '--inject loop: reproduced offline in pipeline, peer-to-peer, not in auction'],
      ['hallucination', 'hierarchical', '--inject hallucination: reproduced offline in pipeline, peer-to-peer, not in hierarchical'],
      ['hallucination', 'supervisor-worker', '--inject hallucination: reproduced offline in pipeline, peer-to-peer, not in supervisor-worker'],
    ] as const)('refuses %s in %s with a UsageError naming the patterns', (value, pattern, message) => {
      // The pattern is checked before the team is looked at.
      expect(() => parseInjection(value, pattern, pipeline)).toThrow(UsageError);
      expect(() => parseInjection(value, pattern, pipeline)).toThrow(message);
    });
  });

  describe('a bad variant or extra values', () => {
    it.each([
      ['an unknown variant', 'loop:lazy', '--inject loop takes no value or :stubborn'],
      ['an empty variant', 'loop:', '--inject loop takes no value or :stubborn'],
      ['a variant in another case', 'loop:STUBBORN', '--inject loop takes no value or :stubborn'],
      ['a value after the variant', 'loop:stubborn:twice', '--inject loop takes no value or :stubborn'],
      ['a count', 'loop:2', '--inject loop takes no value or :stubborn'],
    ])('refuses loop with %s (%s)', (_label, value, message) => {
      expect(() => parseInjection(value, 'pipeline', pipeline)).toThrow(UsageError);
      expect(() => parseInjection(value, 'pipeline', pipeline)).toThrow(message);
    });

    it.each([
      ['a variant', 'hallucination:stubborn'],
      ['an empty value', 'hallucination:'],
      ['two values', 'hallucination:a:b'],
    ])('refuses hallucination with %s (%s)', (_label, value) => {
      expect(() => parseInjection(value, 'peer-to-peer', peerReview)).toThrow(UsageError);
      expect(() => parseInjection(value, 'peer-to-peer', peerReview)).toThrow('--inject hallucination takes no value');
    });

    it('checks the value before the pattern', () => {
      expect(() => parseInjection('loop:lazy', 'auction', pipeline)).toThrow('--inject loop takes no value or :stubborn');
    });
  });

  describe('other mistakes', () => {
    it('needs the team the failure mode plays against', () => {
      expect(() => parseInjection('loop', 'pipeline')).toThrow(UsageError);
      expect(() => parseInjection('loop', 'pipeline')).toThrow('--inject loop needs the team it plays against');
      expect(() => parseInjection('hallucination', 'peer-to-peer')).toThrow('--inject hallucination needs the team it plays against');
    });

    it.each(['LOOP', 'Hallucination', 'loops', 'halluc'])('refuses %s, which is no form, listing the forms', (value) => {
      expect(() => parseInjection(value, 'pipeline', pipeline)).toThrow(UsageError);
      expect(() => parseInjection(value, 'pipeline', pipeline)).toThrow(`--inject must be crash:<StateName>, inconsistent:<StateName>[:N], fail:<StateName>[:N], late-bid:<bidder>, duplicate-bid:<bidder>, loop[:stubborn], hallucination, deadlock or checkpoint-failures:<rate>, got "${value}"`);
    });

    // Regression (bin/cli/inject.ts, parseInjection and failureModeInjection): found by this test, fixed.
    it.each(['constructor', 'toString', '__proto__'])('refuses %s with a UsageError, like any other unknown form', (value) => {
      expect(() => parseInjection(value, 'pipeline', pipeline)).toThrow(UsageError);
    });
  });
});

describe('Function: parseInjections (failure modes with other faults)', () => {
  let pipeline: TeamDefinition;

  beforeAll(async () => {
    pipeline = await loadTeamFile('teams/content-pipeline.yaml');
  });

  it('keeps the loop scenario beside a crash and a model fault', () => {
    // Act
    const injection = parseInjections(['loop', 'crash:RunStage', 'fail:Gate:2'], 'pipeline', pipeline);

    // Assess
    expect(injection.scenarios).toEqual([expect.any(Function)]);
    expect(injection.onStateEntered).toEqual(expect.any(Function));
    expect(injection.modelFaults).toEqual([{ kind: 'fail', stateName: 'Gate', times: 2 }]);
  });

  it('gives no scenarios when no failure mode is injected', () => {
    expect(parseInjections(['fail:Gate'], 'pipeline', pipeline)).not.toHaveProperty('scenarios');
  });

  it('keeps every failure mode given, in order', () => {
    const injection = parseInjections(['loop', 'loop:stubborn'], 'pipeline', pipeline);
    const [plain, stubborn] = injection.scenarios ?? [];
    expect(injection.scenarios).toHaveLength(2);
    const ruled = request('writer', `Brief: agent teams\n${RULING}`);
    expect(plain?.(ruled, REPLY)).toMatch(/formal/i);
    expect(stubborn?.(ruled, REPLY)).toMatch(/casual/i);
  });

  it('refuses the whole list when one failure mode is wrong', () => {
    expect(() => parseInjections(['loop', 'deadlock'], 'pipeline', pipeline)).toThrow(UsageError);
  });
});

describe('Function: parseInjection (deadlock)', () => {
  let telecom: TeamDefinition;
  let peerReview: TeamDefinition;
  let pipeline: TeamDefinition;

  beforeAll(async () => {
    telecom = await loadTeamFile('teams/telecom-support.yaml');
    peerReview = await loadTeamFile('teams/peer-review.yaml');
    pipeline = await loadTeamFile('teams/content-pipeline.yaml');
  });

  it.each([
    ['supervisor-worker', () => telecom],
    ['peer-to-peer', () => peerReview],
  ] as const)('in %s: runs the team with two agents leasing the same resources in opposite orders, and a pool that holds between leases', (pattern, team) => {
    const injection = parseInjection('deadlock', pattern, team());

    const orders = (injection.team?.agents ?? []).map((agent) => agent.resources).filter((resources) => resources.length > 0);
    expect(orders).toEqual([
      ['database', 'verification-key'],
      ['verification-key', 'database'],
    ]);
    expect(injection.team?.name).toBe(team().name);
    expect(typeof injection.runOptions?.wrapResourcePool).toBe('function');
    expect(injection.scenarios).toBeUndefined();
  });

  it('refuses a pattern it is not reproduced in, a value, and a second deadlock', () => {
    expect(() => parseInjection('deadlock', 'pipeline', pipeline)).toThrow('--inject deadlock: reproduced offline in supervisor-worker and peer-to-peer, not in pipeline');
    expect(() => parseInjection('deadlock:now', 'supervisor-worker', telecom)).toThrow(UsageError);
    expect(() => parseInjections(['deadlock', 'deadlock'], 'supervisor-worker', telecom)).toThrow('--inject deadlock may be given once');
  });
});
