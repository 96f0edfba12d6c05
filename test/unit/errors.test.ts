import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as errors from '../../functions/core/errors.ts';
import {
  AgentOutputError,
  ApprovalDeadlinePassedError,
  ApprovalKeeperError,
  ApprovalNotPendingError,
  AwardsExhaustedError,
  BudgetExceededError,
  CheckpointError,
  CheckpointTooLargeError,
  ConfigurationError,
  ConsistencyViolationError,
  DeadlockTimeoutError,
  describeIssues,
  EscalationTimedOutError,
  EventPublishError,
  HumanRejectedError,
  InfrastructureError,
  InfrastructureThrottledError,
  InvalidEventError,
  LegionError,
  ModelInvocationError,
  NoValidBidsError,
  NoValidCheckpointError,
  RollbackLimitExceededError,
  ScriptedFailureError,
  ToolCallLimitError,
  ToolLoopError,
  StaleWriterError,
  TaskConflictError,
  TaskOwnedByAnotherTeamError,
  InvalidTaskIdError,
  TaskNotFoundError,
  TaskStatusError,
  TeamDefinitionError,
  UnboundTaskError,
  UsageError,
} from '../../functions/core/errors.ts';
import { LAMBDA_SERVICE_ERRORS } from '../../functions/core/contract.ts';
import { NESTED_EXECUTION_RETRY_ERRORS } from '../../functions/patterns/hierarchical/contract.ts';
import { PATTERNS } from '../../functions/patterns/index.ts';

const cause = new Error('underlying failure');

/** One instance of every error class, with the context each must carry. */
const CASES: [string, LegionError, Record<string, unknown>][] = [
  ['LegionError', new LegionError('base', { key: 'value' }), { key: 'value' }],
  [
    'TeamDefinitionError',
    new TeamDefinitionError('teams/x.yaml', ['name: required', 'agents: empty']),
    { source: 'teams/x.yaml', problems: ['name: required', 'agents: empty'] },
  ],
  ['InvalidEventError', new InvalidEventError('billing', ['taskId: required']), { handler: 'billing', problems: ['taskId: required'] }],
  ['AgentOutputError', new AgentOutputError('supervisor', 'unknown worker x'), { agent: 'supervisor', reason: 'unknown worker x' }],
  [
    'ConsistencyViolationError',
    new ConsistencyViolationError('supervisor', 'Classify', ['assignment billing: function is not the roster\'s']),
    { agent: 'supervisor', stateName: 'Classify', problems: ["assignment billing: function is not the roster's"] },
  ],
  ['ConfigurationError', new ConfigurationError(['LEGION_TABLE_NAME is not set']), { problems: ['LEGION_TABLE_NAME is not set'] }],
  [
    'ModelInvocationError',
    new ModelInvocationError('model-x', 'throttled', { cause }),
    { modelId: 'model-x', reason: 'throttled' },
  ],
  [
    'InfrastructureError',
    new InfrastructureError('AccessDeniedException', 'not authorized to perform: dynamodb:PutItem', { cause }),
    { originalName: 'AccessDeniedException', reason: 'not authorized to perform: dynamodb:PutItem' },
  ],
  [
    'InfrastructureThrottledError',
    new InfrastructureThrottledError('ProvisionedThroughputExceededException', 'throughput exceeded', { cause }),
    { originalName: 'ProvisionedThroughputExceededException', reason: 'throughput exceeded' },
  ],
  ['CheckpointError', new CheckpointError('task-1', 'table missing', { cause }), { taskId: 'task-1', reason: 'table missing' }],
  ['TaskStatusError', new TaskStatusError('task-1', 'throttled', { cause }), { taskId: 'task-1', reason: 'throttled' }],
  [
    'CheckpointTooLargeError',
    new CheckpointTooLargeError('task-1', 900_000, 450_000, 380_000),
    {
      taskId: 'task-1',
      reason: 'state is 900000 bytes (450000 gzipped), over the 380000-byte item limit; keep large state elsewhere and checkpoint its key',
      jsonBytes: 900_000,
      compressedBytes: 450_000,
      limitBytes: 380_000,
    },
  ],
  [
    'StaleWriterError',
    new StaleWriterError('task-1', 2),
    { taskId: 'task-1', reason: 'writer with epoch 2 is stale: the task was taken over by a newer writer', epoch: 2 },
  ],
  [
    'TaskOwnedByAnotherTeamError',
    new TaskOwnedByAnotherTeamError('task-1', 'other-team', 'telecom-support'),
    { taskId: 'task-1', reason: 'the task id belongs to team telecom-support, not other-team; choose another task id', team: 'other-team', owner: 'telecom-support' },
  ],
  ['InvalidTaskIdError', new InvalidTaskIdError('a.b', 'a task id is 1-80 letters, digits, - or _'), { taskId: 'a.b', reason: 'a task id is 1-80 letters, digits, - or _' }],
  [
    'TaskConflictError',
    new TaskConflictError('task-1'),
    { taskId: 'task-1', reason: 'the task already exists with another input; resume it, or choose another task id' },
  ],
  ['TaskNotFoundError', new TaskNotFoundError('task-1'), { taskId: 'task-1', reason: 'no such task to resume (never started, or its records expired)' }],
  ['NoValidCheckpointError', new NoValidCheckpointError('task-1', 'none left'), { taskId: 'task-1', reason: 'none left' }],
  [
    'RollbackLimitExceededError',
    new RollbackLimitExceededError('task-1', 3, 2),
    { taskId: 'task-1', rollbacks: 3, limit: 2 },
  ],
  ['UsageError', new UsageError('unknown pattern', { pattern: 'x' }), { pattern: 'x' }],
  ['UnboundTaskError', new UnboundTaskError('Classify', 'no handler'), { stateName: 'Classify', reason: 'no handler' }],
  [
    'EventPublishError',
    new EventPublishError('legion-bus', 'RunSucceeded', 'InternalException'),
    { eventBusName: 'legion-bus', detailType: 'RunSucceeded', reason: 'InternalException' },
  ],
  [
    'NoValidBidsError',
    new NoValidBidsError('task-1', 3, { late: 1, duplicate: 0 }),
    { taskId: 'task-1', rounds: 3, rejected: { late: 1, duplicate: 0 } },
  ],
  ['AwardsExhaustedError', new AwardsExhaustedError('task-1', ['polly', 'lexi']), { taskId: 'task-1', failedBidders: ['polly', 'lexi'] }],
  ['ScriptedFailureError', new ScriptedFailureError('RunWinner'), { stateName: 'RunWinner' }],
  ['ToolLoopError', new ToolLoopError('billing', 'lookup_invoice'), { agentId: 'billing', toolName: 'lookup_invoice' }],
  ['ToolCallLimitError', new ToolCallLimitError('billing', 8), { agentId: 'billing', maxToolCalls: 8 }],
  [
    'BudgetExceededError',
    new BudgetExceededError('task-1', 'billing', 'agent', 3900, 300, 4000),
    { taskId: 'task-1', agentId: 'billing', scope: 'agent', spent: 3900, requested: 300, budget: 4000 },
  ],
  ['HumanRejectedError', new HumanRejectedError('task-1', 'too expensive'), { taskId: 'task-1', reason: 'too expensive' }],
  ['ApprovalNotPendingError', new ApprovalNotPendingError('task-1', 'APPROVED'), { taskId: 'task-1', status: 'APPROVED' }],
  [
    'EscalationTimedOutError',
    new EscalationTimedOutError('task-1', '2026-11-23T10:00:00.000Z', '2026-11-24T10:00:00.000Z'),
    { taskId: 'task-1', requestedAt: '2026-11-23T10:00:00.000Z', deadline: '2026-11-24T10:00:00.000Z' },
  ],
  [
    'ApprovalDeadlinePassedError',
    new ApprovalDeadlinePassedError('task-1', '2026-11-23T10:00:00.000Z', '2026-11-24T10:00:00.000Z'),
    { taskId: 'task-1', status: 'TIMED_OUT', requestedAt: '2026-11-23T10:00:00.000Z', deadline: '2026-11-24T10:00:00.000Z' },
  ],
  ['ApprovalKeeperError', new ApprovalKeeperError(['t-1: ThrottlingException']), { problems: ['t-1: ThrottlingException'] }],
  [
    'DeadlockTimeoutError',
    new DeadlockTimeoutError('t-1/billing/Work', 'database', 't-2/billing/Work', 15_000),
    { holder: 't-1/billing/Work', resource: 'database', heldBy: 't-2/billing/Work', waitedMs: 15_000 },
  ],
];

describe('Module: errors', () => {
  describe.each(CASES)('Class: %s', (className, error, context) => {
    it('has the class name as its name (the string ASL ErrorEquals matches)', () => {
      // Assess
      expect(error.name).toBe(className);
      expect(error.name).toBe(error.constructor.name);
    });

    it('is a LegionError and an Error', () => {
      // Assess
      expect(error).toBeInstanceOf(LegionError);
      expect(error).toBeInstanceOf(Error);
      expect(error.stack).toContain(className);
    });

    it('carries its context', () => {
      // Assess
      expect(error.context).toEqual(context);
    });
  });

  it('covers every exported error class', () => {
    // Prepare
    const exported = Object.entries(errors)
      .filter(([, value]) => typeof value === 'function' && (value === LegionError || value.prototype instanceof LegionError))
      .map(([name]) => name)
      .sort();

    // Assess
    expect(CASES.map(([name]) => name).sort()).toEqual(exported);
  });

  it('keeps the cause of a model or checkpoint failure', () => {
    // Assess
    expect(new ModelInvocationError('m', 'r', { cause }).cause).toBe(cause);
    expect(new CheckpointError('t', 'r', { cause }).cause).toBe(cause);
  });

  it('names what failed in the message', () => {
    // Assess
    expect(new TeamDefinitionError('teams/x.yaml', ['a: b', 'c: d']).message).toBe('Invalid team definition teams/x.yaml:\n  - a: b\n  - c: d');
    expect(new InvalidEventError('billing', ['x', 'y']).message).toBe('Invalid event for billing: x; y');
    expect(new AgentOutputError('billing', 'empty answer').message).toBe('Output of agent billing rejected: empty answer');
    expect(new ConfigurationError(['A is not set', 'B is not set']).message).toBe('Invalid configuration: A is not set; B is not set');
    expect(new ModelInvocationError('model-x', 'throttled').message).toBe('Model model-x failed: throttled');
    expect(new CheckpointError('task-1', 'boom').message).toBe('Checkpoint of task task-1 failed: boom');
    expect(new UnboundTaskError('Classify', 'no handler').message).toBe('Task state Classify has no local binding: no handler');
  });

  it('a subclass of a subclass still reports its own name', () => {
    // Prepare
    class BudgetExhaustedError extends AgentOutputError {}

    // Act
    const error = new BudgetExhaustedError('billing', 'over budget');

    // Assess
    expect(error.name).toBe('BudgetExhaustedError');
    expect(error).toBeInstanceOf(AgentOutputError);
  });

  it('every error name caught by a state machine is one of these classes or a service error', () => {
    // Prepare
    const legionNames = new Set(CASES.map(([name]) => name));
    const serviceNames = new Set<string>([...LAMBDA_SERVICE_ERRORS, ...NESTED_EXECUTION_RETRY_ERRORS]);
    const names = new Set<string>();
    for (const spec of Object.values(PATTERNS)) {
      const text = readFileSync(spec.aslFile, 'utf8');
      for (const match of text.matchAll(/"ErrorEquals"\s*:\s*\[([^\]]*)\]/g)) {
        for (const name of JSON.parse(`[${match[1] ?? ''}]`) as string[]) names.add(name);
      }
    }

    // Assess
    expect(names.size).toBeGreaterThan(0);
    const unknown = [...names].filter((name) => !name.startsWith('States.') && !serviceNames.has(name) && !legionNames.has(name));
    expect(unknown).toEqual([]);
  });
});

describe('Function: describeIssues', () => {
  it('writes one line per issue, with its dotted path', () => {
    // Act
    const lines = describeIssues([
      { path: ['agents', 2, 'id'], message: 'duplicate' },
      { path: [], message: 'Unrecognized key: "x"' },
      { path: ['name'], message: 'required' },
    ]);

    // Assess
    expect(lines).toEqual(['agents.2.id: duplicate', 'Unrecognized key: "x"', 'name: required']);
  });
});
