/**
 * IAM conformance: the deployed roles against the AWS calls the code really makes. DynamoDB Local
 * enforces no IAM, so a call the deployed role would refuse (AccessDenied in AWS) passes every
 * other local test. Here every pattern runs on the local runtime with the shipped example teams,
 * and so do the recovery paths (a corrupt checkpoint replayed on resume, an automatic rollback,
 * escalations approved, rejected and timed out, an auction whose awards all fail, an auction
 * resumed past its bidding window, a budget refusal, a loop and a deadlock detected), while each
 * local function's AWS calls are recorded (test/support/aws-call-recorder.ts). Every function
 * that records an escalation (record-escalation.ts: rollback-task, the auction's settle-award) does so here.
 * The stack is synthesized with the same teams, each local function is matched with its Lambda's
 * role, and every call is evaluated against that role's identity policies by an IAM policy
 * simulator (test/support/iam-simulator.ts). Both ways: a call the role would deny fails, and so
 * does a grant no call uses (on the table, each action on each partition pattern it is granted
 * on), but for the exceptions listed below with their reasons.
 *
 * Bedrock: the scripted model answers locally; each of its calls is recorded as the
 * `bedrock:InvokeModel` (Converse) an agent deployed with Bedrock makes, on its tier's model.
 * Not covered: start-run (the local triggers start runs themselves, no StartExecution to record)
 * and the state machines' own roles (Lambda invoke, the auction's PutEvents, nested executions).
 */
import { randomUUID } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { basename } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ScanCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHECKPOINT_TABLE, teamPartitionPrefix } from '../../functions/core/contract.ts';
import type { ModelProvider, ModelReply, ModelRequest, ToolUse } from '../../functions/models/model-provider.ts';
import { type ScriptedFault, ScriptedModel } from '../../functions/models/scripted-model.ts';
import { type TeamDefinition, loadTeamFile } from '../../functions/core/team.ts';
import { CHECKPOINT_PARTITIONS } from '../../lib/checkpoint-table.ts';
import { DynamoDbLocal, LOCAL_TABLE_NAME } from '../../local/dynamodb-local.ts';
import { LocalEventTriggers } from '../../local/local-event-triggers.ts';
import { LocalRuntime, type LocalRuntimeOptions, type RunResult } from '../../local/local-runtime.ts';
import { deadlockInjection } from '../../local/scenarios/deadlock.ts';
import { loopScenario } from '../../local/scenarios/loop.ts';
import { AwsCallRecorder, type RecordedCall } from '../support/aws-call-recorder.ts';
import { type DeployedRole, Deployment } from '../support/deployed-roles.ts';
import { type Grant, grantsOf, simulateCall, wildcardMatch } from '../support/iam-simulator.ts';
import { buildApp, removeTemporaryOutdirs } from './synth.ts';

/**
 * Grants no scenario uses, each with the reason it is granted all the same. Keyed by
 * `<function>: <action>`, and for a grant on partitions `<function>: <action> in <partition>`
 * (a `dynamodb:LeadingKeys` pattern), where `<function>` is `agent` for every agent role.
 */
const UNUSED_GRANT_EXCEPTIONS: Record<string, string> = {
  'legion-control-rollback-task: dynamodb:DeleteItem in TEAM#*#*':
    'Forgets the step marker of a corrupt checkpoint that restore finds on top; an automatic rollback happens within a run, where no checkpoint can be tampered with on cue.',
  'legion-control-request-approval: dynamodb:GetItem in APPROVAL#*#*': "Reads the approval when recording its deadline lost the race to a human's decision.",
  'legion-control-publish-outcome: states:DescribeExecution':
    "Reads an execution's input and output when the status-change event left them out (over 256 KB); the local triggers always give them.",
};

/** Actions the Lambda service performs with a function's role, not the function's code: no recorded call can use them. */
const SERVICE_ACTIONS: Record<string, string> = {
  'logs:CreateLogStream': 'Lambda writes the function logs to its log group.',
  'logs:PutLogEvents': 'Lambda writes the function logs to its log group.',
  'xray:PutTraceSegments': 'Active tracing: Lambda sends the trace segments.',
  'xray:PutTelemetryRecords': 'Active tracing: Lambda sends the telemetry.',
  'sqs:SendMessage': 'The async-invoke failure destination: Lambda sends the failed event.',
  'sqs:GetQueueAttributes': 'The async-invoke failure destination: Lambda checks the queue.',
  'sqs:GetQueueUrl': 'The async-invoke failure destination: Lambda finds the queue.',
};

/** The deadlock scenario's team, deployed beside the shipped ones (two agents lease resources). */
const DEADLOCK_TEAM = 'telecom-deadlock';

const FOREVER_OFF_CONTRACT: ScriptedFault[] = [{ kind: 'off-contract', stateName: 'Synthesize', times: 100 }];
const TWO_DAYS_MS = 2 * 24 * 3600 * 1000;

interface CheckedCall {
  call: RecordedCall;
  role: DeployedRole;
  resourceArn: string;
}

describe('IAM conformance: the deployed roles allow exactly the AWS calls the local scenarios make', () => {
  const recorder = new AwsCallRecorder();
  const runtimes: LocalRuntime[] = [];
  /** Which team each task id belongs to: a callback token names its execution, the execution its task. */
  const teamOfTask = new Map<string, string>();
  let db: DynamoDbLocal | undefined;
  const database = (): DynamoDbLocal => {
    if (!db) throw new Error('DynamoDB Local is not started');
    return db;
  };
  let teams: Record<string, TeamDefinition>;
  let deployment: Deployment;
  let checked: CheckedCall[];

  /** A runtime on this file's DynamoDB Local whose AWS calls are recorded. */
  async function runtime(options: Omit<LocalRuntimeOptions, 'dataDir'> = {}): Promise<LocalRuntime> {
    const started = await LocalRuntime.connect(database().endpoint, { eventBus: recorder.eventBus(), ...options, model: recorder.model(options.model ?? new ScriptedModel()) });
    recorder.watch(started);
    runtimes.push(started);
    return started;
  }

  function newTask(team: TeamDefinition, scenario: string): string {
    const taskId = `iam-${scenario}-${randomUUID().slice(0, 8)}`;
    teamOfTask.set(taskId, team.name);
    return taskId;
  }

  async function run(team: TeamDefinition, scenario: string, options: { model?: ModelProvider; input?: unknown } = {}): Promise<RunResult> {
    const local = await runtime(options.model ? { model: options.model } : {});
    return local.run({ team, input: options.input ?? team.example, taskId: newTask(team, scenario) });
  }

  /** Tampers with the stored state of one done Work step of a task, behind the stores' back (as a disk fault would). */
  async function corruptWorkStep(taskId: string): Promise<void> {
    const client = database().documentClient();
    const { Items = [] } = await client.send(
      new ScanCommand({
        TableName: LOCAL_TABLE_NAME,
        FilterExpression: 'taskId = :taskId AND stateName = :work AND attribute_exists(stepKey)',
        ExpressionAttributeValues: { ':taskId': taskId, ':work': 'Work' },
      }),
    );
    const item = Items[0];
    if (!item) throw new Error(`task ${taskId} has no Work checkpoint to corrupt`);
    await client.send(
      new UpdateCommand({
        TableName: LOCAL_TABLE_NAME,
        Key: { [CHECKPOINT_TABLE.partitionKey]: item[CHECKPOINT_TABLE.partitionKey] as string, [CHECKPOINT_TABLE.sortKey]: item[CHECKPOINT_TABLE.sortKey] as string },
        UpdateExpression: 'SET #state = :tampered',
        ExpressionAttributeNames: { '#state': 'state' },
        ExpressionAttributeValues: { ':tampered': '{"tampered":true}' },
      }),
    );
  }

  async function runScenarios(): Promise<Record<string, string>> {
    const at = (name: string): TeamDefinition => {
      const team = teams[name];
      if (!team) throw new Error(`no team ${name}`);
      return team;
    };
    const telecom = at('telecom-support');
    const statuses: Record<string, string> = {};
    const note = (name: string, result: RunResult): void => {
      statuses[name] = result.status;
    };

    // Every pattern, with its shipped example team (hierarchical runs both sub-teams nested).
    const shippedMarketplace = at('marketplace');
    // Beside three other runs on a loaded machine, a bidder can miss the shipped 2 s window, and
    // with one bid the runner-up this scenario needs does not exist: a wider window, same calls.
    const marketplaceUnderLoad = { ...shippedMarketplace, limits: { ...shippedMarketplace.limits, bidWindowSeconds: 6 } };
    const patterns = await Promise.all([
      run(telecom, 'supervisor-worker'),
      run(at('research-hierarchy'), 'hierarchical'),
      run(at('peer-review'), 'peer-to-peer'),
      // The winner fails once (scripted shortcut): settle-award awards the runner-up.
      run(marketplaceUnderLoad, 'auction', { model: new ScriptedModel({ faults: [{ kind: 'fail', stateName: 'RunWinner', times: 1 }] }) }),
    ]);
    for (const result of patterns) note(result.pattern, result);

    // Every award fails (the winner, then the runner-up): settle-award records the escalation
    // (AwardsExhaustedError) on the task's approval, and the run waits for a human.
    const marketplace = at('marketplace');
    const failTwice = new ScriptedModel({ faults: [{ kind: 'fail', stateName: 'RunWinner', times: 2 }] });
    note('awards exhausted', await run(marketplace, 'awards-exhausted', { model: failTwice }));

    // An auction that crashed as Announce started, resumed past its bidding window: open-auction reads
    // the round it opened before and gives it a fresh window (it was never announced).
    const reopening = await runtime();
    const reopenTask = newTask(marketplace, 'reopen');
    const crash = new AbortController();
    const crashAtAnnounce = (state: string): void => {
      if (state === 'Announce') crash.abort();
    };
    await reopening.run({ team: marketplace, input: marketplace.example, taskId: reopenTask, signal: crash.signal, onStateEntered: crashAtAnnounce });
    const replyBy = (await reopening.auctionSummary(reopenTask)).rounds[0]?.replyBy ?? '';
    await sleep(Math.max(0, Date.parse(replyBy) - Date.now() + 100));
    note('auction resumed past its window', await reopening.resume({ team: marketplace, taskId: reopenTask }));

    // pipeline: started by a RunRequested event, so publish-outcome puts the outcome on the bus.
    const pipeline = at('content-pipeline');
    const triggered = await runtime();
    const triggers = await LocalEventTriggers.install({ runtime: triggered, bus: triggered.eventBus, teams: [pipeline] });
    const key = newTask(pipeline, 'pipeline');
    await triggered.eventBus.putEvents([{ Source: 'legion', DetailType: 'RunRequested', Detail: JSON.stringify({ pattern: 'pipeline', input: pipeline.example, idempotencyKey: key }) }]);
    const pipelineResult = triggers.runs[0]?.result;
    if (pipelineResult) note('pipeline', pipelineResult);

    // Recovery: a done step whose checkpoint no longer verifies is marked invalid, its marker deleted, and it runs again.
    const corrupt = await runtime();
    const corruptTask = newTask(telecom, 'corrupt');
    await corrupt.run({ team: telecom, input: telecom.example, taskId: corruptTask });
    await corruptWorkStep(corruptTask);
    note('resume after a corrupt checkpoint', await corrupt.resume({ team: telecom, taskId: corruptTask }));

    // Recovery: an inconsistent result rolls the task back automatically.
    note('automatic rollback', await run(telecom, 'rollback', { model: new ScriptedModel({ faults: [{ kind: 'off-contract', stateName: 'Synthesize', times: 1 }] }) }));

    // Escalations: one approved (after the keeper's heartbeat), one rejected, one timed out by the keeper.
    const escalating = await runtime({ model: new ScriptedModel({ faults: FOREVER_OFF_CONTRACT }) });
    const [approved, rejected, timedOut] = [newTask(telecom, 'approve'), newTask(telecom, 'reject'), newTask(telecom, 'timeout')];
    for (const taskId of [approved, rejected, timedOut]) note(`escalation ${taskId.split('-')[1] ?? ''}`, await escalating.run({ team: telecom, input: telecom.example, taskId }));
    await escalating.sweepApprovals();
    note('approved', await escalating.approve({ team: telecom, taskId: approved, output: { answer: 'approved by a human' }, by: 'iam-test' }));
    note('rejected', await escalating.reject({ team: telecom, taskId: rejected, reason: 'no', by: 'iam-test' }));
    const later = await runtime({ now: () => Date.now() + TWO_DAYS_MS });
    await later.sweepApprovals();

    // A model call over the agent's token budget is refused before it is made.
    const poor = { ...telecom, agents: telecom.agents.map((agent) => (agent.role === 'supervisor' ? { ...agent, tokenBudget: 1 } : agent)) };
    note('budget refusal', await run(poor, 'budget'));

    // Detections: a loop in the pipeline (record-detection), a deadlock between two leasing workers.
    note('loop', await run(pipeline, 'loop', { model: new ScriptedModel({ scenarios: [loopScenario(pipeline)] }) }));
    const deadlock = deadlockInjection({ ...telecom, name: DEADLOCK_TEAM });
    const leasing = await runtime();
    note('deadlock', await leasing.run({ team: deadlock.team, input: deadlock.input ?? deadlock.team.example, taskId: newTask(deadlock.team, 'deadlock'), ...deadlock.run }));
    // A tool call repeated by the billing worker's model: the worker itself stores and announces the loop.
    const toolLoop = await run(telecom, 'tool-loop', { model: new RepeatingToolModel('billing', { id: 'repeat', name: 'lookup_invoice', input: { invoiceId: 'INV-1042' } }) });
    note('tool loop', toolLoop);
    statuses['tool loop detections'] = toolLoop.detections.map((detection) => `${detection.type}:${detection.action}`).join(',');
    return statuses;
  }

  /** The ARN IAM checks a recorded call against, in the deployment. */
  function resourceArnOf(call: RecordedCall): string | undefined {
    const { target } = call;
    switch (target.kind) {
      case 'table':
        return deployment.tableArn(target.table, target.index);
      case 'event-bus':
        return deployment.eventBusArn();
      case 'foundation-model':
        return deployment.foundationModelArn(target.modelId);
      case 'inference-profile':
        return deployment.inferenceProfileArn(target.profileId);
      case 'task-token': {
        const task = [...teamOfTask.keys()].find((taskId) => target.token.startsWith(`${taskId}#`) || target.token.startsWith(`${taskId}-resume-`));
        const team = task === undefined ? undefined : teamOfTask.get(task);
        return team === undefined ? undefined : deployment.stateMachineArn(team);
      }
    }
  }

  beforeAll(async () => {
    const loaded = await Promise.all(
      readdirSync(new URL('../../teams/', import.meta.url))
        .filter((file) => file.endsWith('.yaml'))
        .map((file) => loadTeamFile(`teams/${file}`)),
    );
    teams = Object.fromEntries(loaded.map((team) => [team.name, team]));
    const telecom = teams['telecom-support'];
    if (!telecom) throw new Error('teams/telecom-support.yaml is missing');
    const deadlockTeam = deadlockInjection({ ...telecom, name: DEADLOCK_TEAM }).team;
    // Its own DynamoDB Local: the approval keeper sweeps every pending approval of the table, and
    // one sweep here runs two days ahead to time one out; other test files' approvals stay apart.
    // Java starts while the stack synthesizes.
    const starting = DynamoDbLocal.start();
    try {
      // Bedrock (the default provider): the agents' model grants are checked against the recorded model calls.
      const { stack } = buildApp({ teams: [...loaded, deadlockTeam] });
      deployment = new Deployment(stack);
    } finally {
      db = await starting;
    }
    const statuses = await runScenarios();
    // The scenarios must have gone the way they are meant to, or the calls checked are not those of the paths named.
    expect(statuses).toMatchObject({
      'supervisor-worker': 'SUCCEEDED',
      hierarchical: 'SUCCEEDED',
      'peer-to-peer': 'SUCCEEDED',
      auction: 'SUCCEEDED',
      'awards exhausted': 'WAITING',
      'auction resumed past its window': 'SUCCEEDED',
      pipeline: 'SUCCEEDED',
      'resume after a corrupt checkpoint': 'SUCCEEDED',
      'automatic rollback': 'SUCCEEDED',
      approved: 'SUCCEEDED',
      rejected: 'FAILED',
      deadlock: 'SUCCEEDED',
      'tool loop': 'SUCCEEDED',
      'tool loop detections': 'loop:refused-repeat',
    });

    checked = recorder.calls.flatMap((call) => {
      const role = deployment.roleOf(call.caller);
      const resourceArn = resourceArnOf(call);
      return role && resourceArn ? [{ call, role, resourceArn }] : [];
    });
  }, 120_000);

  afterAll(async () => {
    await Promise.all(runtimes.map((started) => started.stop()));
    await db?.stop();
    removeTemporaryOutdirs();
  });

  it('records calls of every kind: each DynamoDB item action, PutEvents, callback answers and model calls', () => {
    const actions = new Set(recorder.calls.map((call) => call.action));

    for (const action of ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:Query', 'events:PutEvents', 'states:SendTaskSuccess', 'states:SendTaskFailure', 'states:SendTaskHeartbeat', 'bedrock:InvokeModel']) {
      expect(actions, action).toContain(action);
    }
  });

  it('finds the deployed role of every local function that made an AWS call, and the resource of every call', () => {
    const callers = new Set(recorder.calls.map((call) => call.caller));
    const unmapped = [...callers].filter((caller) => !deployment.roleOf(caller));
    const unresolved = recorder.calls.filter((call) => resourceArnOf(call) === undefined && call.target.kind !== 'task-token');

    expect(unmapped).toEqual([]);
    expect(unresolved).toEqual([]);
  });

  it("allows every recorded call under its function's deployed role", async () => {
    const denied: string[] = [];
    const seen = new Set<string>();
    for (const { call, role, resourceArn } of checked) {
      const key = JSON.stringify([call.caller, call.action, resourceArn, call.context]);
      if (seen.has(key)) continue;
      seen.add(key);
      const verdict = await simulateCall(role, { action: call.action, resourceArn, context: call.context });
      if (!verdict.allowed) {
        denied.push(`${call.caller} (${call.operation}): ${call.action} on ${resourceArn} with ${JSON.stringify(call.context)} is denied: ${verdict.why}`);
      }
    }

    expect(denied).toEqual([]);
  });

  it('uses every action each role grants, on each partition it grants it on (least privilege), but for the documented exceptions', () => {
    /** Agents share one construct: a grant is used if any agent's call uses it (in that agent's own team). */
    const group = (functionName: string, role: DeployedRole): string => (role.agent ? 'agent' : functionName);
    const used = new Map<string, CheckedCall[]>();
    for (const entry of checked) {
      const name = group(entry.call.caller, entry.role);
      used.set(name, [...(used.get(name) ?? []), entry]);
    }
    const unused = new Set<string>();
    for (const [functionName, role] of deployment.roles) {
      const name = group(functionName, role);
      const calls = used.get(name) ?? [];
      // A role none of whose functions ran is not judged: it is listed below instead.
      if (calls.length === 0) continue;
      for (const grant of grantsOf(role)) {
        if (SERVICE_ACTIONS[grant.action] !== undefined) continue;
        // A grant on partitions (dynamodb:LeadingKeys) is judged per partition: each must be reached by a call of the action.
        const partitions = leadingKeysOf(grant);
        for (const partition of partitions.length === 0 ? [undefined] : partitions) {
          const shown = partition === undefined ? undefined : role.agent ? partition.replace(teamPartitionPrefix(role.agent.team), teamPartitionPrefix('<team>')) : partition;
          const label = shown === undefined ? grant.action : `${grant.action} in ${shown}`;
          if (UNUSED_GRANT_EXCEPTIONS[`${name}: ${label}`] !== undefined) continue;
          const reached = calls.some((entry) => usesGrant(entry, grant) && (partition === undefined || inPartition(entry, partition, role)));
          if (!reached) unused.add(`${name}: ${grant.action} on ${genericResource(grant.resource)}${shown === undefined ? '' : ` in ${shown}`}`);
        }
      }
    }

    expect([...unused].sort()).toEqual([]);
  });

  it('runs every control function that records an escalation (record-escalation.ts) to the record, on the approvals', () => {
    // Control functions are the handlers with a Lambda entry beside them: in functions/control/ and in the pattern folders.
    const functionsDir = new URL('../../functions/', import.meta.url);
    const files = readdirSync(functionsDir, { recursive: true, encoding: 'utf8' }).filter((file) => file.startsWith('control/') || file.startsWith('patterns/'));
    const recorders = files
      .filter((file) => file.endsWith('.ts') && files.includes(file.replace(/\.ts$/, '.lambda.ts')) && !file.endsWith('.lambda.ts'))
      .filter((file) => /\brecordEscalation\(/.test(readFileSync(new URL(file, functionsDir), 'utf8')))
      .map((file) => `legion-control-${basename(file, '.ts')}`);
    // Each one's UpdateItem of its task's approval is recorded, and so checked against its role above.
    const recorded = (name: string): boolean =>
      checked.some(({ call }) => call.caller === name && call.action === 'dynamodb:UpdateItem' && (call.context['dynamodb:LeadingKeys'] ?? []).some((key) => wildcardMatch(CHECKPOINT_PARTITIONS.approvals, key)));

    expect(recorders.sort()).toEqual(['legion-control-rollback-task', 'legion-control-settle-award']);
    expect(recorders.filter((name) => !recorded(name))).toEqual([]);
  });

  it('exercises the role of every control function and of at least one agent per team', () => {
    const exercised = new Set(checked.map((entry) => entry.call.caller));
    const idle = [...deployment.roles.values()].filter((role) => !role.agent && !exercised.has(role.functionName)).map((role) => role.functionName);
    const idleTeams = [...new Set([...deployment.roles.values()].flatMap((role) => (role.agent ? [role.agent.team] : [])))].filter(
      (team) => !checked.some((entry) => entry.role.agent?.team === team),
    );

    expect(idle).toEqual([]);
    expect(idleTeams).toEqual([]);
  });

  it("keeps each agent to its own team's partitions (dynamodb:LeadingKeys) and off the table's indexes", () => {
    const problems: string[] = [];
    for (const [functionName, role] of deployment.roles) {
      if (!role.agent) continue;
      const { team } = role.agent;
      for (const grant of grantsOf(role).filter((candidate) => candidate.action.startsWith('dynamodb:'))) {
        if (grant.resource.includes('/index/')) problems.push(`${functionName}: ${grant.action} on an index (${grant.resource})`);
        if (JSON.stringify(leadingKeysOf(grant)) !== JSON.stringify([`${teamPartitionPrefix(team)}*`])) {
          problems.push(`${functionName}: ${grant.action} without the condition ForAllValues:StringLike dynamodb:LeadingKeys ${teamPartitionPrefix(team)}* (has ${JSON.stringify(grant.condition ?? {})})`);
        }
      }
    }

    expect(problems).toEqual([]);
  });
});

/**
 * TEST DOUBLE: the scripted model, but one agent's model asks for the same tool call in its first
 * two rounds (a loop), then answers as the scripted model does.
 */
class RepeatingToolModel implements ModelProvider {
  private readonly scripted = new ScriptedModel();

  public constructor(
    private readonly agentId: string,
    private readonly toolUse: ToolUse,
  ) {}

  public converse(request: ModelRequest): Promise<ModelReply> {
    const rounds = (request.messages ?? []).filter((message) => message.role === 'assistant').length;
    if (request.agentId !== this.agentId || !request.tools?.length || rounds >= 2) return this.scripted.converse(request);
    return Promise.resolve({ text: '', modelId: 'scripted', usage: { inputTokens: 10, outputTokens: 5 }, stopReason: 'tool_use', toolUses: [{ ...this.toolUse, id: `${this.toolUse.id}-${String(rounds)}` }] });
  }
}

/** Whether a checked call is one the grant allows (its action and resource; conditions are the simulator's business). */
function usesGrant(entry: CheckedCall, grant: Grant): boolean {
  if (!wildcardMatch(grant.action, entry.call.action, true)) return false;
  // Callback answers are granted on every machine whose executions may wait; one escalating team shows the grant is needed.
  if (grant.resource.includes(':stateMachine:')) return entry.resourceArn.includes(':stateMachine:');
  return wildcardMatch(grant.resource, entry.resourceArn);
}

/**
 * Whether every partition key a call reaches lies in the partition pattern a role grants it. An
 * agent's pattern is its own team's: a call of an agent of another team counts in that team's.
 */
function inPartition(entry: CheckedCall, partition: string, role: DeployedRole): boolean {
  const keys = entry.call.context['dynamodb:LeadingKeys'] ?? [];
  const pattern = role.agent && entry.role.agent ? partition.replace(teamPartitionPrefix(role.agent.team), teamPartitionPrefix(entry.role.agent.team)) : partition;
  return keys.length > 0 && keys.every((key) => wildcardMatch(pattern, key));
}

/** The `dynamodb:LeadingKeys` patterns a grant's condition allows (none: no condition). */
function leadingKeysOf(grant: Grant): string[] {
  const condition = grant.condition?.['ForAllValues:StringLike'] ?? grant.condition?.['ForAllValues:StringEquals'];
  const patterns = condition?.['dynamodb:LeadingKeys'];
  return patterns === undefined ? [] : [patterns].flat();
}

/** A resource with the parts that differ from one state machine or model to the next left out, for the report. */
function genericResource(resource: string): string {
  return resource.replace(/stateMachine:.*$/, 'stateMachine:*').replace(/foundation-model\/.*$/, 'foundation-model/*').replace(/inference-profile\/.*$/, 'inference-profile/*');
}
