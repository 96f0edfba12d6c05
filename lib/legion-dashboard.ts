/**
 * One CloudWatch dashboard of Legion's health: runs by team and status, checkpoint writes, failures
 * and failure rate, rollbacks, tokens used and budget refusals, detections by type, agent step
 * latency per agent, and the state of every alarm. Its graphs read the same stack-wide series
 * (service = METRICS_SERVICE) and math as the alarms of functions/observability/alarms.ts; the graphs by
 * team, status or agent SEARCH the finer dimension sets, so a team deployed later shows up unasked.
 */
import { Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { Construct } from 'constructs';
import { AGGREGATE_DIMENSIONS, alarmDefinition } from '../functions/observability/alarms.ts';
import { METRICS } from '../functions/core/contract.ts';
import { metricOf } from './legion-alarms.ts';

export interface LegionDashboardProps {
  /** The alarms shown in the alarm status widget: this list, as it is at synth (LegionAlarms' `all` grows as teams are added). */
  readonly alarms: cloudwatch.IAlarm[];
  /**
   * The dashboard's name.
   *
   * @default `<stack name>-Legion`
   */
  readonly dashboardName?: string;
}

/**
 * @example
 * ```ts
 * new LegionDashboard(this, 'Dashboard', { alarms: alarms.all });
 * ```
 */
export class LegionDashboard extends Construct {
  public readonly dashboard: cloudwatch.Dashboard;

  public constructor(scope: Construct, id: string, props: LegionDashboardProps) {
    super(scope, id);
    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', { dashboardName: props.dashboardName ?? `${Stack.of(this).stackName}-Legion` });
    const fiveMinutes = Duration.minutes(5);
    const oneHour = Duration.hours(1);
    const legion = (metricName: string, period: Duration): cloudwatch.Metric =>
      new cloudwatch.Metric({ namespace: METRICS.namespace, metricName, statistic: 'Sum', dimensionsMap: { ...AGGREGATE_DIMENSIONS }, period, label: metricName });

    const search = (dimensions: string, metricName: string, statistic: string, label: string): cloudwatch.MathExpression =>
      new cloudwatch.MathExpression({
        expression: `SEARCH('{${METRICS.namespace},${dimensions}} MetricName="${metricName}"', '${statistic}', ${String(fiveMinutes.toSeconds())})`,
        usingMetrics: {},
        label,
        period: fiveMinutes,
      });

    this.dashboard.addWidgets(
      // The list itself, not a copy: the alarms of teams added after the dashboard join it.
      new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: props.alarms, width: 24, height: 4 }),
    );
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({ title: 'Runs by team and status', left: [search('service,team,status', METRICS.runsCompleted, 'Sum', '')], stacked: true, width: 12 }),
      new cloudwatch.GraphWidget({
        title: 'Agent step latency per agent (ms, p90)',
        left: [search('service,team,agent', METRICS.agentStepDuration, 'p90', '')],
        width: 12,
      }),
    );
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Checkpoint health',
        left: [legion(METRICS.checkpointsWritten, fiveMinutes), legion(METRICS.checkpointFailures, fiveMinutes)],
        right: [metricOf(alarmDefinition('CheckpointFailureRate'))],
        rightYAxis: { label: '% failed', min: 0 },
        width: 12,
      }),
      new cloudwatch.GraphWidget({ title: 'Rollbacks per hour', left: [legion(METRICS.rollbacks, oneHour)], width: 12 }),
    );
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Tokens and budget refusals',
        left: [legion(METRICS.tokensUsed, fiveMinutes)],
        right: [legion(METRICS.budgetsExceeded, fiveMinutes), legion(METRICS.tasksOverBudget, fiveMinutes), legion(METRICS.tasksStarted, fiveMinutes)],
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: 'Detections by type',
        left: [METRICS.loopsDetected, METRICS.hallucinationsDetected, METRICS.deadlocksDetected].map((name) => legion(name, fiveMinutes)),
        width: 12,
      }),
    );
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Oldest approval waiting (s)',
        left: [metricOf(alarmDefinition('ApprovalWaitAge'))],
        leftAnnotations: [{ value: alarmDefinition('ApprovalWaitAge').threshold, label: 'ApprovalWaitAge threshold' }],
        width: 12,
      }),
    );
  }
}
