/**
 * Runs started by events, offline: what lib/event-triggers.ts deploys, on a {@link LocalEventBus}.
 * One rule per pattern with a team, with the same pattern (`runRequestedPattern` of
 * functions/core/events.ts), starts the team's run on the local runtime; the team is chosen as
 * start-run chooses it (`chooseTeam`) and the task id is the same (`taskIdOf`: the idempotency key,
 * else one from the event id). A request whose task already exists (`runtime.describeTask`) or is
 * running in this process is a duplicate: no second run, counted like start-run counts it
 * (metric `DuplicateRunRequests`). After each run the outcome is put back on the bus by the real
 * publish-outcome handler, fed the status-change event Step Functions would emit, so the
 * `RunSucceeded` / `RunFailed` / `RunEscalated` events are those AWS publishes.
 *
 * @example
 * ```ts
 * const runtime = await LocalRuntime.start();
 * const bus = new LocalEventBus();
 * const triggers = await LocalEventTriggers.install({ runtime, bus });
 * await bus.putEvents([{ Source: 'legion', DetailType: 'RunRequested', Detail: JSON.stringify({ pattern: 'supervisor-worker', input: { request: 'my bill is wrong' }, idempotencyKey: 'ticket-42' }) }]);
 * triggers.runs[0]?.result?.status; // 'SUCCEEDED'
 * bus.events.at(-1)?.['detail-type']; // 'RunSucceeded'
 * ```
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { controlTelemetry } from '../functions/control/control-handler.ts';
import { createPublishOutcomeHandler, type PublishOutcomeResult } from '../functions/control/publish-outcome.ts';
import { RunRequestedEventSchema, chooseTeam, taskIdOf } from '../functions/control/start-run.ts';
import type { DeployedMachine } from '../functions/core/config.ts';
import { METRICS, PATTERN_NAMES, type PatternName } from '../functions/core/contract.ts';
import { InvalidEventError, UnboundTaskError, describeIssues } from '../functions/core/errors.ts';
import { EXECUTION_STATUS_CHANGE, type RunOutcomeDetail, runRequestedPattern } from '../functions/core/events.ts';
import { PATTERNS, defaultTeamOf } from '../functions/patterns/index.ts';
import { type TeamDefinition, loadTeamFile } from '../functions/core/team.ts';
import { type BusEvent, type LocalEventBus, localEventsClient } from './local-event-bus.ts';
import { LocalLambda } from './local-lambda.ts';
import { type LocalRuntime, type RunRequest, type RunResult, localStateMachineArn } from './local-runtime.ts';

/** The rule name of a pattern's RunRequested rule (locally; CDK names its own). */
export function runRequestedRuleName(pattern: PatternName): string {
  return `legion-run-requested-${pattern}`;
}

/** What one RunRequested event led to. */
export interface TriggeredRun {
  eventId: string;
  taskId: string;
  pattern: string;
  team: string;
  /** STARTED: a run was started; DUPLICATE: the task already existed, none was. */
  status: 'STARTED' | 'DUPLICATE';
  /** The run's result (STARTED). */
  result?: RunResult;
  /** The outcome event published after the run (none for a run left WAITING). */
  outcome?: { detailType: string; detail: RunOutcomeDetail };
}

export interface LocalEventTriggersOptions {
  runtime: Pick<LocalRuntime, 'run' | 'describeTask' | 'telemetry' | 'statuses'>;
  bus: LocalEventBus;
  /** The teams events may start. @default the example team of every pattern */
  teams?: readonly TeamDefinition[];
  /** Progress of the runs events start. @default none */
  onProgress?: RunRequest['onProgress'];
}

export class LocalEventTriggers {
  /** Every RunRequested event handled, in order. */
  public readonly runs: TriggeredRun[] = [];
  private readonly machines: (DeployedMachine & { definition: TeamDefinition })[];
  private readonly running = new Set<string>();
  private readonly telemetry = controlTelemetry('legion-start-run');
  private readonly publisher: LocalLambda;

  private constructor(
    private readonly runtime: LocalEventTriggersOptions['runtime'],
    private readonly bus: LocalEventBus,
    teams: readonly TeamDefinition[],
    private readonly onProgress: RunRequest['onProgress'],
  ) {
    this.machines = teams.map((team) => ({
      team: team.name,
      pattern: team.pattern,
      stateMachineArn: localStateMachineArn(team.name),
      isDefault: defaultTeamOf(team.pattern, teams) === team.name,
      definition: team,
    }));
    runtime.telemetry.attach(this.telemetry.logger, this.telemetry.metrics);
    this.publisher = this.publishOutcomeLambda();
  }

  /** Registers one RunRequested rule per pattern that has a team, on `bus`. */
  public static async install(options: LocalEventTriggersOptions): Promise<LocalEventTriggers> {
    const teams = options.teams ?? (await Promise.all(PATTERN_NAMES.map((pattern) => loadTeamFile(PATTERNS[pattern].exampleTeamFile))));
    const triggers = new LocalEventTriggers(options.runtime, options.bus, teams, options.onProgress);
    for (const pattern of PATTERN_NAMES) {
      if (!teams.some((team) => team.pattern === pattern)) continue;
      options.bus.addRule({
        name: runRequestedRuleName(pattern),
        eventPattern: runRequestedPattern(pattern),
        targets: [{ id: 'start-run', handler: (event) => triggers.startRun(event) }],
      });
    }
    return triggers;
  }

  /** The target of the RunRequested rules: start-run's rules, with the local runtime as Step Functions. */
  private async startRun(event: BusEvent): Promise<TriggeredRun> {
    const parsed = RunRequestedEventSchema.safeParse(event);
    if (!parsed.success) throw new InvalidEventError('start-run', describeIssues(parsed.error.issues));
    const machine = chooseTeam(this.machines, parsed.data.detail);
    const taskId = taskIdOf(parsed.data);
    const base = { eventId: event.id, taskId, pattern: machine.pattern, team: machine.team };
    if (this.running.has(taskId) || (await this.runtime.describeTask(taskId)) !== undefined) {
      this.telemetry.logger.warn('duplicate run request: the task already has an execution, none started', base);
      this.telemetry.metrics.addMetric(METRICS.duplicateRunRequests, MetricUnit.Count, 1);
      this.telemetry.metrics.publishStoredMetrics();
      const duplicate: TriggeredRun = { ...base, status: 'DUPLICATE' };
      this.runs.push(duplicate);
      return duplicate;
    }
    this.running.add(taskId);
    const run: TriggeredRun = { ...base, status: 'STARTED' };
    this.runs.push(run);
    this.telemetry.metrics.addMetric(METRICS.runsRequested, MetricUnit.Count, 1);
    this.telemetry.metrics.publishStoredMetrics();
    try {
      run.result = await this.runtime.run({ team: machine.definition, input: parsed.data.detail.input, taskId, ...(this.onProgress ? { onProgress: this.onProgress } : {}) });
    } finally {
      this.running.delete(taskId);
    }
    const published = await this.publishOutcome(run.result, machine.stateMachineArn, parsed.data.detail.input);
    if (published?.published) run.outcome = { detailType: published.detailType, detail: published.detail };
    return run;
  }

  /** Feeds the real publish-outcome handler the status-change event Step Functions would emit. */
  private async publishOutcome(result: RunResult, stateMachineArn: string, input: unknown): Promise<PublishOutcomeResult | undefined> {
    if (result.status === 'WAITING') return undefined;
    const escalatedOrFailed = result.status === 'ESCALATED' || result.status === 'FAILED';
    const statusChange = {
      version: '0',
      source: EXECUTION_STATUS_CHANGE.source,
      'detail-type': EXECUTION_STATUS_CHANGE.detailType,
      detail: {
        executionArn: `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${result.taskId}`,
        stateMachineArn,
        name: result.taskId,
        // An escalated run is a FAILED execution whose error is an escalation error.
        status: escalatedOrFailed ? 'FAILED' : result.status,
        input: JSON.stringify(input),
        output: result.status === 'SUCCEEDED' ? JSON.stringify(result.output) : null,
        error: escalatedOrFailed ? (result.error?.error ?? 'States.TaskFailed') : null,
        cause: escalatedOrFailed ? (result.error?.cause ?? '') : null,
      },
    };
    const { Payload } = await this.publisher.invoke(statusChange);
    return Payload as PublishOutcomeResult;
  }

  private publishOutcomeLambda(): LocalLambda {
    const { logger, metrics } = controlTelemetry('legion-publish-outcome');
    this.runtime.telemetry.attach(logger, metrics);
    const bus = this.bus;
    const handler = createPublishOutcomeHandler({
      events: localEventsClient(bus),
      // Never reached: the local status-change event always carries the input and output.
      sfn: {
        send(): Promise<never> {
          return Promise.reject(new UnboundTaskError('DescribeExecution', 'the local status-change event carries input and output'));
        },
      },
      eventBusName: bus.name,
      machines: this.machines.map(({ definition: _definition, ...machine }) => machine),
      // The run has recorded how it ended already (the runtime does, for `legion run` too): the same
      // status again, under the same execution name, so the two never disagree.
      statuses: this.runtime.statuses,
      logger,
      metrics,
    });
    return new LocalLambda({
      functionName: 'legion-control-publish-outcome',
      functionArn: 'arn:aws:lambda:local:000000000000:function:legion-control-publish-outcome',
      timeoutSeconds: 30,
      memoryMb: 256,
      handler,
    });
  }
}
