/**
 * The `auction` pattern for one team (Contract Net over EventBridge): a function per bidder and one
 * for the verifier, the team's state machine (which announces each round on the Legion event bus),
 * a rule per bidder that delivers the team's announcements to it, and the team's bid collector,
 * which a rule feeds with the bids the bidders put on the bus.
 *
 * Every rule target has a dead-letter queue and a retry policy, and the bidders and the collector
 * send invocations that still fail after Lambda's async retries to a second queue, with the error.
 * An announcement or a bid is worth delivering only while its round is open, so both give up after
 * the team's longest bidding window by default. The rule patterns come from
 * functions/core/events.ts, which the local event bus uses too.
 */
import { packageModule } from '../functions/core/package-files.ts';
import { Duration, Validations } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as destinations from 'aws-cdk-lib/aws-lambda-destinations';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct, IConstruct } from 'constructs';
import { nextWindowSeconds } from '../functions/patterns/auction/auction-rules.ts';
import { ENV } from '../functions/core/contract.ts';
import { type RulePattern, auctionAnnouncedPattern, bidSubmittedPattern } from '../functions/core/events.ts';
import { biddersOf } from '../functions/patterns/auction/spec.ts';
import type { TeamDefinition } from '../functions/core/team.ts';
import type { AgentFunction } from './agent-function.ts';
import { AgentTeam, type AgentTeamProps, requirePattern } from './agent-team.ts';
import { CHECKPOINT_PARTITIONS, grantItems } from './checkpoint-table.ts';
import { secureQueue, toCdkPattern } from './event-triggers.ts';
import { LegionFunction } from './legion-function.ts';

/** The least maxEventAge EventBridge targets and Lambda async invocations accept. */
const MIN_EVENT_AGE = Duration.minutes(1);

const COLLECT_BID_ENTRY = packageModule('functions/patterns/auction/collect-bid.lambda.ts');

/** How events reach a bidder or the collector. */
interface Delivery {
  readonly eventBus: events.IEventBus;
  readonly maxEventAge: Duration;
  readonly retryAttempts: number;
}

export interface AuctionTeamProps extends AgentTeamProps {
  /**
   * How long EventBridge (for the rule targets) and Lambda (for async retries) keep trying to deliver
   * an announcement or a bid before dead-lettering it. Past its round's window a bid is refused as
   * late anyway.
   *
   * @default the team's longest bidding window (that of its last round), at least one minute
   */
  readonly maxEventAge?: Duration;
  /**
   * How many times EventBridge retries delivering an event to a target before dead-lettering it.
   *
   * @default 8
   */
  readonly retryAttempts?: number;
}

/**
 * An auction team. Needs the Legion event bus (`eventBus`): its state machine may put events on it
 * (the announcements), each bidder may too (its bids) and is told its name (`LEGION_EVENT_BUS_NAME`).
 * The collector may only read and write items of the checkpoint table (GetItem, UpdateItem, PutItem).
 *
 * @example
 * ```ts
 * const bus = new events.EventBus(this, 'EventBus');
 * const team = await loadTeamFile('teams/marketplace.yaml');
 * const market = new AuctionTeam(this, 'Marketplace', { team, table: checkpoints.table, controlFunctions: control.functions, eventBus: bus });
 * market.announcementRules.lexi; // delivers the team's AuctionAnnounced events to bidder lexi
 * market.bidRule; // delivers its BidSubmitted events to market.collector
 * ```
 */
export class AuctionTeam extends AgentTeam {
  /** The rule that delivers the team's announcements to each bidder, by bidder id. */
  public readonly announcementRules: Readonly<Record<string, events.Rule>>;
  /** The rule that delivers the bids for the team's auctions to its collector. */
  public readonly bidRule: events.Rule;
  /** Stores the bids for the team's open rounds (functions/patterns/auction/collect-bid.ts). */
  public readonly collector: LegionFunction;
  /** Events EventBridge could not deliver to a bidder or the collector (after its retry policy). */
  public readonly deadLetterQueue: sqs.Queue;
  /** Invocations of the bidders (by the bus) and the collector that kept failing (Lambda's async on-failure destination). */
  public readonly failedInvocations: sqs.Queue;

  public constructor(scope: Construct, id: string, props: AuctionTeamProps) {
    requirePattern(props.team, 'auction');
    const eventBus = requireEventBus(props);
    super(scope, id, props);
    const { team, table, maxEventAge = defaultMaxEventAge(team), retryAttempts = 8 } = props;
    this.deadLetterQueue = secureQueue(this, 'DeadLetters');
    this.failedInvocations = secureQueue(this, 'FailedInvocations');
    const delivery: Delivery = { eventBus, maxEventAge, retryAttempts };

    const bidders = biddersOf(team).map((bidder) => this.bidderAgent(bidder.id));
    this.announcementRules = Object.fromEntries(
      bidders.map((bidder) => {
        // Its bids go on the bus. AgentFunction already grants the GetItem it reads its load with.
        bidder.putsEventsOn(eventBus);
        const description = `Legion: delivers the auction announcements of team ${team.name} to bidder ${bidder.agent.id}`;
        return [bidder.agent.id, this.deliver(`Announce-${bidder.agent.id}`, description, auctionAnnouncedPattern(team.name), bidder.function, delivery)];
      }),
    );

    this.collector = new LegionFunction(this, 'CollectBid', {
      entry: COLLECT_BID_ENTRY,
      description: `Legion: stores the bids for the auctions of team ${team.name}`,
      environment: { [ENV.tableName]: table.tableName },
      ttlDays: props.ttlDays,
      logRetention: props.logRetention,
      logRemovalPolicy: props.logRemovalPolicy,
      applicationLogLevel: props.applicationLogLevel,
    });
    // GetItem reads the round; a transaction counts the bid on it (Update) and stores it (Put); UpdateItem counts a refusal.
    // Its team's auctions only.
    grantItems(table, this.collector.function, ['dynamodb:GetItem', 'dynamodb:UpdateItem', 'dynamodb:PutItem'], [CHECKPOINT_PARTITIONS.team(team.name)]);
    const description = `Legion: delivers the bids for the auctions of team ${team.name} to its collector`;
    this.bidRule = this.deliver('Bids', description, bidSubmittedPattern(team.name), this.collector.function, delivery);

    this.acknowledgeFindings([...bidders, this.collector]);
  }

  private bidderAgent(bidderId: string): AgentFunction {
    const agent = this.agents[bidderId];
    if (!agent) throw new Error(`internal: team "${this.team.name}" has no function for bidder "${bidderId}"`);
    return agent;
  }

  /**
   * A rule on the bus that invokes `fn` (asynchronously) with the events of `pattern`: undeliverable
   * events go to the dead-letter queue, invocations that keep failing to the failed-invocations queue.
   */
  private deliver(id: string, description: string, pattern: RulePattern, fn: lambda.IFunction, delivery: Delivery): events.Rule {
    const { eventBus, maxEventAge, retryAttempts } = delivery;
    fn.configureAsyncInvoke({ onFailure: new destinations.SqsDestination(this.failedInvocations), retryAttempts: 2, maxEventAge });
    return new events.Rule(this, id, {
      eventBus,
      description,
      eventPattern: toCdkPattern(pattern),
      targets: [new targets.LambdaFunction(fn, { deadLetterQueue: this.deadLetterQueue, maxEventAge, retryAttempts })],
    });
  }

  /** cdk-nag findings that are deliberate, with the reason. */
  private acknowledgeFindings(eventTargets: readonly IConstruct[]): void {
    for (const queue of [this.deadLetterQueue, this.failedInvocations]) {
      Validations.of(queue).acknowledge(
        { id: 'AwsSolutions-SQS3', reason: 'This queue is itself a dead-letter queue (of rule targets, or of failed async invocations).' },
        { id: 'Serverless-SQSRedrivePolicy', reason: 'This queue is itself a dead-letter queue; nothing consumes it automatically.' },
      );
    }
    for (const target of eventTargets) {
      Validations.of(target).acknowledge({
        id: 'Serverless-LambdaDLQ',
        reason: 'Invoked asynchronously by EventBridge: failures go to the on-failure destination (an SQS queue, with the error), which supersedes a function DLQ.',
      });
    }
  }
}

/** The Legion event bus of an auction team's props; without it the team cannot announce or bid. */
function requireEventBus(props: AgentTeamProps): events.IEventBus {
  if (!props.eventBus) {
    throw new Error(`Team "${props.team.name}" (auction) needs the Legion event bus: give AuctionTeam an eventBus (LegionStack passes its bus)`);
  }
  return props.eventBus;
}

/** The longest bidding window of a team (its last round's: each re-announcement widens it), at least a minute. */
function defaultMaxEventAge(team: TeamDefinition): Duration {
  const maxRounds = team.limits.maxAuctionRounds;
  let window = team.limits.bidWindowSeconds;
  for (let round = 1; round < maxRounds; round += 1) window = nextWindowSeconds(window, round, { maxRounds }) ?? window;
  return Duration.seconds(Math.max(window, MIN_EVENT_AGE.toSeconds()));
}
