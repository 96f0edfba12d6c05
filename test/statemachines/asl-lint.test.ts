import { readFileSync, readdirSync } from 'node:fs';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { AGENT_FAILURE_ERRORS, PATTERN_NAMES, type PatternName } from '../../functions/core/contract.ts';
import { PATTERNS, placeholdersIn } from '../../functions/patterns/index.ts';
import { loadTeamFile } from '../../functions/core/team.ts';
import { type AslRuleOptions, lintAsl } from './asl-rules.ts';

const STATEMACHINES_DIR = fileURLToPath(new URL('../../statemachines/', import.meta.url));
const aslFiles = readdirSync(STATEMACHINES_DIR)
  .filter((file) => file.endsWith('.asl.json'))
  .sort();

/** What each pattern's Choice states may read and where a Lambda Task may take its function from: its spec's aslRules. */
const RULES: Record<string, AslRuleOptions> = Object.fromEntries(Object.values(PATTERNS).map((spec) => [basename(spec.aslFile), spec.aslRules]));

/** Just enough typing to edit a parsed definition in the tests below. */
interface TestState {
  [field: string]: unknown;
  TimeoutSeconds?: number;
  Default?: string;
  Catch?: { Next: string; ErrorEquals: string[] }[];
  Retry?: { ErrorEquals: string[] }[];
  Choices?: { Variable: string }[];
  Parameters: { [field: string]: unknown; Payload: { stateName: string } };
  ItemProcessor?: { States: Record<string, TestState> };
}
interface TestAsl {
  [field: string]: unknown;
  QueryLanguage?: string;
  States: Record<string, TestState>;
}

/** The state at `path` (`Map/Inner` for a state of a Map's ItemProcessor). */
function stateOf(asl: TestAsl, path: string): TestState {
  const [outer = '', inner] = path.split('/');
  const state = asl.States[outer];
  const found = inner === undefined ? state : state?.ItemProcessor?.States[inner];
  if (!found) throw new Error(`no state ${path}`);
  return found;
}

function first<T>(items: T[] | undefined): T {
  const item = items?.[0];
  if (item === undefined) throw new Error('empty list');
  return item;
}

const patternOf = (file: string): string => basename(file, '.asl.json');
const readAsl = (file: string): string => readFileSync(`${STATEMACHINES_DIR}${file}`, 'utf8');

describe('Class: state machine definitions (statemachines/*.asl.json)', () => {
  it('finds one ASL file per pattern of the contract, and nothing else', () => {
    expect(aslFiles.map(patternOf)).toEqual([...PATTERN_NAMES].sort());
  });

  describe.each(aslFiles)('Feature: %s', (file) => {
    let text: string;

    beforeAll(() => {
      text = readAsl(file);
    });

    it('is valid JSON', () => {
      expect(() => JSON.parse(text) as unknown).not.toThrow();
    });

    it('follows the ASL rules: JSONPath only, guarded Tasks, existing targets, enum-only Choices', () => {
      const rules = RULES[file];
      expect(rules, `add the allowed Choice variables of ${file} to RULES in this test`).toBeDefined();
      expect(lintAsl(JSON.parse(text), rules as AslRuleOptions)).toEqual([]);
    });

    it('uses only placeholders its pattern substitutes for the example team, and all of them', async () => {
      const spec = PATTERNS[patternOf(file) as PatternName];
      const team = await loadTeamFile(spec.exampleTeamFile);
      const substitutions = spec.substitutions(team, {
        agent: (agentId) => `arn:aws:lambda:us-east-1:123456789012:function:${agentId}`,
        control: (name) => `arn:aws:lambda:us-east-1:123456789012:function:${name}`,
        eventBusName: 'legion-test',
      });
      expect(placeholdersIn(text)).toEqual(Object.keys(substitutions).sort());
    });
  });

  it('sorts the fixed Error of every Fail state: an agent failure a hierarchical lead may work around, or not', () => {
    // Not agent failures: a parent run fails closed when a sub-team ended with one of them.
    const notAgentFailures = ['ApprovalHeartbeatTimeoutError', 'UnknownRoute', 'UnknownOutcome', 'UnknownVerdict', 'UnexpectedValue'];
    const fixedErrors = (states: Record<string, TestState>): string[] =>
      Object.values(states).flatMap((state) => [
        ...(state.Type === 'Fail' && typeof state.Error === 'string' ? [state.Error] : []),
        ...(state.ItemProcessor ? fixedErrors(state.ItemProcessor.States) : []),
      ]);
    const names = new Set(aslFiles.flatMap((file) => fixedErrors((JSON.parse(readAsl(file)) as TestAsl).States)));

    const unsorted = [...names].filter((name) => !(AGENT_FAILURE_ERRORS as readonly string[]).includes(name) && !notAgentFailures.includes(name));
    expect(unsorted, 'add each to AGENT_FAILURE_ERRORS (functions/core/contract.ts) or to notAgentFailures here').toEqual([]);
    expect(names.size).toBeGreaterThan(5);
  });

  describe('Feature: the rules catch mistakes', () => {
    const options = RULES['supervisor-worker.asl.json'] as AslRuleOptions;
    let base: TestAsl;

    beforeAll(() => {
      base = JSON.parse(readAsl('supervisor-worker.asl.json')) as TestAsl;
    });

    /** A deep copy of the supervisor-worker definition, changed by `edit`. */
    function mutated(edit: (asl: TestAsl) => void): TestAsl {
      const copy = structuredClone(base);
      edit(copy);
      return copy;
    }

    it('rejects JSONata, Assign, Output and Arguments, also inside a Map', () => {
      const problems = lintAsl(
        mutated((asl) => {
          asl.QueryLanguage = 'JSONata';
          stateOf(asl, 'Begin').Assign = { count: 0 };
          stateOf(asl, 'Delegate/Work').Arguments = {};
          stateOf(asl, 'Synthesize').Output = '{% $states.result %}';
        }),
        options,
      );
      expect(problems).toEqual(
        expect.arrayContaining([
          expect.stringMatching(/top level.*QueryLanguage "JSONata"/),
          expect.stringMatching(/^Begin: has Assign/),
          expect.stringMatching(/^Delegate\/Work: has Arguments/),
          expect.stringMatching(/^Synthesize: has Output/),
        ]),
      );
    });

    it('rejects a Task without timeout, without a Lambda error in Retry, or without Catch', () => {
      const problems = lintAsl(
        mutated((asl) => {
          delete stateOf(asl, 'Classify').TimeoutSeconds;
          first(stateOf(asl, 'Synthesize').Retry).ErrorEquals = ['Lambda.ServiceException'];
          delete stateOf(asl, 'Delegate/Work').Catch;
        }),
        options,
      );
      expect(problems).toEqual([
        'Classify: Task without TimeoutSeconds',
        'Delegate/Work: Task without Catch',
        'Delegate/Work: no Catch for AgentOutputError ahead of States.ALL (it must lead to a rollback)',
        'Delegate/Work: no Catch for ConsistencyViolationError ahead of States.ALL (it must lead to a rollback)',
        'Synthesize: Retry does not cover Lambda.AWSLambdaException, Lambda.SdkClientException, Lambda.TooManyRequestsException',
      ]);
    });

    it('rejects dangling targets, a wrong stateName and a Choice on model output', () => {
      const problems = lintAsl(
        mutated((asl) => {
          first(stateOf(asl, 'Classify').Catch).Next = 'Nowhere';
          first(stateOf(asl, 'Delegate/Work').Catch).Next = 'Synthesize'; // outside the Map's scope
          stateOf(asl, 'Synthesize').Parameters.Payload.stateName = 'Classify';
          first(stateOf(asl, 'Route').Choices).Variable = '$.supervisor.plan.answer';
          stateOf(asl, 'Route').Default = 'Missing';
        }),
        options,
      );
      expect(problems).toEqual([
        'Classify Catch[0]: target "Nowhere" is not a state of its scope',
        'Route: Choice reads $.supervisor.plan.answer, which is not an allowed enum path',
        'Route Default: target "Missing" is not a state of its scope',
        'Delegate/Work Catch[0]: target "Synthesize" is not a state of its scope',
        'Synthesize: Payload.stateName is "Classify", not the state\'s name',
      ]);
    });

    it('rejects an agent Task that retries an inconsistent result in place or lets States.ALL catch it first', () => {
      const problems = lintAsl(
        mutated((asl) => {
          const classify = stateOf(asl, 'Classify');
          classify.Retry = [...(classify.Retry ?? []), { ErrorEquals: ['AgentOutputError'] }];
          stateOf(asl, 'Synthesize').Catch?.reverse();
        }),
        options,
      );
      expect(problems).toEqual([
        'Classify: retries AgentOutputError in place instead of rolling back',
        'Synthesize: no Catch for AgentOutputError ahead of States.ALL (it must lead to a rollback)',
        'Synthesize: no Catch for ConsistencyViolationError ahead of States.ALL (it must lead to a rollback)',
        'Synthesize: no Catch for BudgetExceededError leading to Escalate ahead of States.ALL',
      ]);
    });

    it('rejects a top-level agent Task whose refused model call (over budget) does not reach Escalate', () => {
      const problems = lintAsl(
        mutated((asl) => {
          const classify = stateOf(asl, 'Classify');
          classify.Catch = classify.Catch?.filter((catcher) => !JSON.stringify(catcher).includes('BudgetExceededError'));
        }),
        options,
      );
      expect(problems).toEqual(['Classify: no Catch for BudgetExceededError leading to Escalate ahead of States.ALL']);
    });

    it('rejects a graceful States.ALL Catch that an infrastructure error could take (it must fail the run, after throttling retries)', () => {
      const problems = lintAsl(
        mutated((asl) => {
          const work = stateOf(asl, 'Delegate/Work');
          work.Catch = work.Catch?.filter((catcher) => !catcher.ErrorEquals.includes('InfrastructureError'));
          work.Retry = work.Retry?.filter((retrier) => !retrier.ErrorEquals.includes('InfrastructureThrottledError'));
        }),
        options,
      );
      expect(problems).toEqual([
        'Delegate/Work: States.ALL leads to WorkerUnavailable, which does not fail the run, without a Catch of every infrastructure error ahead of it (InfrastructureError, InfrastructureThrottledError, CheckpointError, StaleWriterError, ConfigurationError, Lambda.ServiceException, Lambda.AWSLambdaException, Lambda.SdkClientException, Lambda.TooManyRequestsException)',
        'Delegate/Work: no Retry with backoff for InfrastructureThrottledError (every Task that invokes a Legion Lambda has one)',
      ]);
    });

    it('rejects any Lambda Task, agent or control function, that does not retry throttling with backoff', () => {
      const problems = lintAsl(
        mutated((asl) => {
          for (const name of ['Begin', 'Classify', 'RollBack']) {
            const state = stateOf(asl, name);
            state.Retry = state.Retry?.filter((retrier) => !retrier.ErrorEquals.includes('InfrastructureThrottledError'));
          }
          const escalate = stateOf(asl, 'Escalate');
          escalate.Retry = escalate.Retry?.map((retrier) => (retrier.ErrorEquals.includes('InfrastructureThrottledError') ? { ...retrier, BackoffRate: 1 } : retrier));
        }),
        options,
      );
      expect(problems).toEqual(['Begin', 'Classify', 'RollBack', 'Escalate'].map((name) => `${name}: no Retry with backoff for InfrastructureThrottledError (every Task that invokes a Legion Lambda has one)`));
    });

    it('treats a States.ALL into a Fail state with a fixed Error name as a graceful path: it renames the infrastructure error', () => {
      const pipeline = JSON.parse(readAsl('pipeline.asl.json')) as TestAsl;
      const runStage = stateOf(pipeline, 'RunStage');
      runStage.Catch = runStage.Catch?.filter((catcher) => !catcher.ErrorEquals.includes('InfrastructureError'));

      expect(lintAsl(pipeline, RULES['pipeline.asl.json'] as AslRuleOptions)).toEqual([
        expect.stringMatching(/^RunStage: States\.ALL leads to DescribeStageFailure, which does not fail the run, without a Catch of every infrastructure error ahead of it/),
      ]);
    });

    it('rejects an infrastructure Catch behind States.ALL, missing a name, or leading to a graceful state', () => {
      const behind = lintAsl(mutated((asl) => stateOf(asl, 'Delegate/Work').Catch?.reverse()), options);
      expect(behind).toContainEqual(expect.stringMatching(/^Delegate\/Work: States\.ALL leads to WorkerUnavailable, which does not fail the run, without a Catch of every infrastructure error ahead of it/));
      const partial = lintAsl(mutated((asl) => first(stateOf(asl, 'Delegate/Work').Catch).ErrorEquals.splice(0, 1)), options);
      expect(partial).toContainEqual(expect.stringMatching(/^Delegate\/Work: States\.ALL leads to WorkerUnavailable/));
      const graceful = lintAsl(mutated((asl) => { first(stateOf(asl, 'Delegate/Work').Catch).Next = 'WorkerUnavailable'; }), options);
      expect(graceful).toEqual(["Delegate/Work: the infrastructure errors' Catch leads to WorkerUnavailable, which does not fail the run"]);
    });

    it('rejects a function taken from an unlisted path', () => {
      const problems = lintAsl(
        mutated((asl) => {
          stateOf(asl, 'Delegate/Work').Parameters['FunctionName.$'] = '$.assignment.modelSaid';
        }),
        options,
      );
      expect(problems).toEqual(['Delegate/Work: FunctionName.$ reads $.assignment.modelSaid, which is not an allowed path']);
    });
  });
});
