/**
 * The auction's EventBridge side in the local runtime: what lib/auction-team.ts deploys, on the
 * runtime's {@link LocalEventBus}. Per auction team, one rule per bidder delivers the team's
 * `AuctionAnnounced` events to the bidder's real handler (`createBidderAgentHandler`, which puts
 * its bid on the bus), and one rule delivers `BidSubmitted` events to the real collect-bid handler
 * (which stores each bid once in DynamoDB Local). The rule patterns are events.ts's, as in CDK.
 *
 * Faults for one task, to reproduce what EventBridge and slow bidders do (scripted shortcuts,
 * `legion run auction --inject late-bid:<bidder> | duplicate-bid:<bidder>`):
 * - a late bidder gets the announcement only after its reply-by deadline has passed (really
 *   waiting), so its bid is submitted late;
 * - a duplicate bidder's bid is put on the bus twice (a PutEvents retried after a lost answer),
 *   so the collector receives one bid in two deliveries.
 *
 * @example
 * ```ts
 * const house = new LocalAuctionHouse({ bus, auctions, telemetry, documentClient, tableName, model, functionArnOf });
 * house.install(team); // once per team; later calls do nothing
 * house.setFaults('t-1', { lateBidders: ['polly'], duplicateBidders: [] });
 * ```
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { controlTelemetry } from '../functions/control/control-handler.ts';
import { createCollectBidHandler } from '../functions/patterns/auction/collect-bid.ts';
import { createBidderAgentHandler } from '../functions/patterns/auction/bidder.ts';
import type { AuctionStore } from '../functions/patterns/auction/auction-store.ts';
import { AuctionAnnouncedDetailSchema, BidSubmittedDetailSchema } from '../functions/patterns/auction/contract.ts';
import { type PutEventsEntry, auctionAnnouncedPattern, bidSubmittedPattern } from '../functions/core/events.ts';
import type { ModelProvider } from '../functions/models/model-provider.ts';
import { biddersOf } from '../functions/patterns/auction/spec.ts';
import type { TeamDefinition } from '../functions/core/team.ts';
import { type BusEvent, type LocalEventBus, localEventsClient } from './local-event-bus.ts';
import { createLocalAgent, localAgentLambda } from './local-agent.ts';
import { LocalLambda } from './local-lambda.ts';
import type { TelemetrySink } from './telemetry-sink.ts';

/** Faults of one task's auction (see the module comment). */
export interface AuctionFaults {
  lateBidders: readonly string[];
  duplicateBidders: readonly string[];
}

export interface LocalAuctionHouseOptions {
  bus: LocalEventBus;
  auctions: AuctionStore;
  telemetry: TelemetrySink;
  documentClient: DynamoDBDocumentClient;
  /** The checkpoint table of the runtime's database. */
  tableName: string;
  /** The model of the bidders' step handler (never called from the bus: bidding makes no model call). */
  model: ModelProvider;
  /** The ARN of an agent in the local runtime. */
  functionArnOf: (team: string, agentId: string) => string;
}

/** How long after its deadline a late bidder is handed the announcement. */
const LATE_BY_MS = 250;

export class LocalAuctionHouse {
  private readonly installed = new Set<string>();
  private readonly faults = new Map<string, AuctionFaults>();

  public constructor(private readonly options: LocalAuctionHouseOptions) {}

  /** Registers the team's announcement and bid rules on the bus (once per team). */
  public install(team: TeamDefinition): void {
    if (this.installed.has(team.name)) return;
    this.installed.add(team.name);
    const { bus } = this.options;
    for (const bidder of biddersOf(team)) {
      const lambda = this.bidderLambda(team, bidder.id);
      bus.addRule({
        name: `legion-${team.name}-announced-${bidder.id}`,
        eventPattern: auctionAnnouncedPattern(team.name),
        targets: [{ id: bidder.id, handler: (event) => this.deliverAnnouncement(bidder.id, lambda, event) }],
      });
    }
    const collector = this.collectorLambda(team.name);
    bus.addRule({
      name: `legion-${team.name}-bids`,
      eventPattern: bidSubmittedPattern(team.name),
      targets: [{ id: 'collect-bid', handler: async (event) => (await collector.invoke(event)).Payload }],
    });
  }

  /** Faults for the auction of one task (replacing earlier ones); none by default. */
  public setFaults(taskId: string, faults: AuctionFaults): void {
    this.faults.set(taskId, faults);
  }

  private async deliverAnnouncement(bidderId: string, lambda: LocalLambda, event: BusEvent): Promise<unknown> {
    const parsed = AuctionAnnouncedDetailSchema.safeParse(event.detail);
    const announcement = parsed.success ? parsed.data.announcement : undefined;
    if (announcement && this.faults.get(announcement.taskId)?.lateBidders.includes(bidderId)) {
      const wait = Date.parse(announcement.replyBy) + LATE_BY_MS - Date.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    }
    return (await lambda.invoke(event)).Payload;
  }

  private bidderLambda(team: TeamDefinition, agentId: string): LocalLambda {
    const { options } = this;
    const agent = createLocalAgent({
      team,
      agentId,
      functionArnOf: (id) => options.functionArnOf(team.name, id),
      documentClient: options.documentClient,
      tableName: options.tableName,
      model: options.model,
      telemetry: options.telemetry,
      extraConfig: { eventBusName: options.bus.name },
    });
    const handler = createBidderAgentHandler(agent.config, agent.handler, {
      auctions: options.auctions.forTeam(team.name),
      // A duplicate bidder's entries go on the bus twice.
      events: localEventsClient(options.bus, { repeat: (entries) => entries.some((entry) => this.isDuplicated(agentId, entry)) }),
      eventBusName: options.bus.name,
      logger: agent.deps.logger,
      metrics: agent.deps.metrics,
    });
    return localAgentLambda(team.name, agent, handler);
  }

  private isDuplicated(agentId: string, entry: PutEventsEntry): boolean {
    const parsed = BidSubmittedDetailSchema.safeParse(JSON.parse(entry.Detail));
    return parsed.success && (this.faults.get(parsed.data.bid.auctionId)?.duplicateBidders.includes(agentId) ?? false);
  }

  private collectorLambda(teamName: string): LocalLambda {
    const telemetry = controlTelemetry('legion-collect-bid');
    this.options.telemetry.attach(telemetry.logger, telemetry.metrics);
    return new LocalLambda({
      functionName: `legion-${teamName}-collect-bid`,
      functionArn: `arn:aws:lambda:local:000000000000:function:legion-${teamName}-collect-bid`,
      timeoutSeconds: 30,
      memoryMb: 256,
      handler: createCollectBidHandler({ auctions: this.options.auctions, ...telemetry }),
    });
  }
}
