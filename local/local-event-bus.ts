/**
 * EventBridge in the local runtime: an event bus that takes PutEvents entries, turns them into
 * events the way EventBridge does (id, time, account, region, `detail` parsed), matches them
 * against its rules' event patterns (local/event-pattern.ts, the same patterns the stack deploys,
 * from functions/core/events.ts) and delivers each to the rule's targets: local async functions.
 * Every delivery is recorded, and so is an event that no rule matched ("undeliverable": in AWS it
 * would be dropped silently, which is worth showing offline).
 *
 * Differences from AWS, on purpose: delivery happens inside `putEvents` (it resolves once every
 * target has run, so a caller sees the whole effect), once per target, the targets side by side;
 * a target that throws is recorded as a failed delivery (AWS would retry, then dead-letter it),
 * never retried.
 *
 * @example
 * ```ts
 * const bus = new LocalEventBus({ name: 'legion-local' });
 * bus.addRule({ name: 'start-pipeline', eventPattern: runRequestedPattern('pipeline'), targets: [{ id: 'start-run', handler: async (event) => start(event) }] });
 * const result = await bus.putEvents([{ Source: 'legion', DetailType: 'RunRequested', Detail: JSON.stringify({ pattern: 'pipeline', input: {} }) }]);
 * result.entries[0]?.matchedRules; // ['start-pipeline']
 * ```
 */
import { randomUUID } from 'node:crypto';
import { InvalidEventError } from '../functions/core/errors.ts';
import type { PutEventsEntry } from '../functions/core/events.ts';
import type { PutEventsClient } from '../functions/core/put-event.ts';
import { type EventPattern, matchesEventPattern, validateEventPattern } from './event-pattern.ts';

/** An event as EventBridge delivers it to a target. */
export interface BusEvent {
  version: '0';
  id: string;
  'detail-type': string;
  source: string;
  account: string;
  time: string;
  region: string;
  resources: string[];
  detail: Record<string, unknown>;
}

/** A local target: what a Lambda, a state machine or a queue would be in AWS. */
export interface LocalTarget {
  id: string;
  handler: (event: BusEvent) => Promise<unknown>;
}

export interface LocalRule {
  name: string;
  /** Validated when the rule is added, as PutRule does. */
  eventPattern: unknown;
  targets: readonly LocalTarget[];
}

export interface Delivery {
  rule: string;
  target: string;
  eventId: string;
  detailType: string;
  status: 'DELIVERED' | 'FAILED';
  /** What the target returned. */
  result?: unknown;
  error?: string;
}

/** The answer to one entry of `putEvents`, as PutEvents answers it (plus what happened locally). */
export interface PutEventsResultEntry {
  eventId?: string;
  errorCode?: string;
  errorMessage?: string;
  /** The event built from the entry (absent when the entry was rejected). */
  event?: BusEvent;
  /** The rules whose pattern matched. */
  matchedRules: string[];
  deliveries: Delivery[];
}

export interface PutEventsResult {
  failedEntryCount: number;
  entries: PutEventsResultEntry[];
}

export interface LocalEventBusOptions {
  /** @default 'legion-local' */
  name?: string;
  /** @default '000000000000' (the local runtime's account) */
  account?: string;
  /** @default 'local' */
  region?: string;
  /** @default () => new Date() */
  clock?: () => Date;
}

/** PutEvents takes at most this many entries per call. */
export const MAX_ENTRIES_PER_PUT = 10;
/** The largest event PutEvents accepts (entry size as EventBridge counts it, approximated by the JSON). */
export const MAX_ENTRY_BYTES = 256 * 1024;

type RegisteredRule = Omit<LocalRule, 'eventPattern'> & { eventPattern: EventPattern };

export class LocalEventBus {
  public readonly name: string;
  public readonly arn: string;
  /** Every delivery made, in order. */
  public readonly deliveries: Delivery[] = [];
  /** Every event accepted, in order. */
  public readonly events: BusEvent[] = [];
  /** Events no rule matched. */
  public readonly undeliverable: BusEvent[] = [];
  private readonly rules = new Map<string, RegisteredRule>();
  private readonly account: string;
  private readonly region: string;
  private readonly clock: () => Date;

  public constructor(options: LocalEventBusOptions = {}) {
    this.name = options.name ?? 'legion-local';
    this.account = options.account ?? '000000000000';
    this.region = options.region ?? 'local';
    this.clock = options.clock ?? (() => new Date());
    this.arn = `arn:aws:events:${this.region}:${this.account}:event-bus/${this.name}`;
  }

  /**
   * Adds a rule. Its pattern is validated as EventBridge's PutRule would.
   *
   * @throws {InvalidEventPatternError} naming the field of the pattern at fault
   * @throws {InvalidEventError} when a rule of that name exists
   */
  public addRule(rule: LocalRule): void {
    if (this.rules.has(rule.name)) throw new InvalidEventError(`event bus ${this.name}`, [`rule ${rule.name} already exists`]);
    this.rules.set(rule.name, { ...rule, eventPattern: validateEventPattern(rule.eventPattern) });
  }

  /** The names of the rules, in the order they were added. */
  public ruleNames(): string[] {
    return [...this.rules.keys()];
  }

  /**
   * Puts events on the bus and delivers each to the targets of every rule it matches. An invalid
   * entry is answered with an error code and message, as PutEvents does, and the others still go.
   *
   * @throws {InvalidEventError} for more than {@link MAX_ENTRIES_PER_PUT} entries (PutEvents refuses the whole call)
   */
  public async putEvents(entries: readonly PutEventsEntry[]): Promise<PutEventsResult> {
    if (entries.length === 0 || entries.length > MAX_ENTRIES_PER_PUT) {
      throw new InvalidEventError(`event bus ${this.name}`, [`PutEvents takes 1 to ${MAX_ENTRIES_PER_PUT} entries, got ${entries.length}`]);
    }
    const results: PutEventsResultEntry[] = [];
    for (const entry of entries) {
      const problems = validatePutEventsEntry(entry, this);
      if (problems.length > 0) {
        results.push({ errorCode: 'InvalidArgument', errorMessage: problems.join('; '), matchedRules: [], deliveries: [] });
        continue;
      }
      const event = this.toEvent(entry);
      this.events.push(event);
      results.push({ eventId: event.id, event, ...(await this.deliver(event)) });
    }
    return { failedEntryCount: results.filter((result) => result.errorCode !== undefined).length, entries: results };
  }

  /**
   * Puts an event an AWS service sends (source `aws.*`, e.g. a CloudWatch alarm's state change),
   * which PutEvents refuses from callers; it is matched and delivered as {@link putEvents} does.
   *
   * @throws {InvalidEventError} when the entry is not valid, or its source is not an AWS service's
   */
  public async putServiceEvent(entry: PutEventsEntry): Promise<PutEventsResultEntry> {
    const problems = validatePutEventsEntry(entry, this, 'aws');
    if (problems.length > 0) throw new InvalidEventError(`event bus ${this.name}`, problems);
    const event = this.toEvent(entry);
    this.events.push(event);
    return { eventId: event.id, event, ...(await this.deliver(event)) };
  }

  private async deliver(event: BusEvent): Promise<Pick<PutEventsResultEntry, 'matchedRules' | 'deliveries'>> {
    const matched = [...this.rules.values()].filter((rule) => matchesEventPattern(rule.eventPattern, event));
    if (matched.length === 0) this.undeliverable.push(event);
    const targets = matched.flatMap((rule) => rule.targets.map((target) => ({ rule, target })));
    // Recorded before the targets run, so events they put in turn come after them in `deliveries`.
    const deliveries = targets.map(({ rule, target }): Delivery => ({ rule: rule.name, target: target.id, eventId: event.id, detailType: event['detail-type'], status: 'DELIVERED' }));
    this.deliveries.push(...deliveries);
    // Targets run side by side, as EventBridge invokes them: a slow target does not hold up the others.
    await Promise.all(
      targets.map(async ({ target }, index) => {
        const delivery = deliveries[index] as Delivery;
        try {
          delivery.result = await target.handler(structuredClone(event));
        } catch (error) {
          delivery.status = 'FAILED';
          delivery.error = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
        }
      }),
    );
    return { matchedRules: matched.map((rule) => rule.name), deliveries };
  }

  private toEvent(entry: PutEventsEntry): BusEvent {
    const time = entry.Time ?? this.clock();
    return {
      version: '0',
      id: randomUUID(),
      'detail-type': entry.DetailType,
      source: entry.Source,
      account: this.account,
      // EventBridge writes whole seconds.
      time: `${time.toISOString().slice(0, 19)}Z`,
      region: this.region,
      resources: [...(entry.Resources ?? [])],
      detail: JSON.parse(entry.Detail) as Record<string, unknown>,
    };
  }
}

/**
 * The EventBridge client's PutEvents, answered by a local bus: what the real handlers that put
 * events (publish-outcome, request-approval, the bidders) are given offline.
 *
 * @example
 * ```ts
 * const handler = createPublishOutcomeHandler({ events: localEventsClient(bus), ... });
 * ```
 */
export function localEventsClient(bus: LocalEventBus, options: { repeat?: (entries: readonly PutEventsEntry[]) => boolean } = {}): PutEventsClient {
  return {
    async send(command) {
      const entries = (command.input.Entries ?? []) as PutEventsEntry[];
      const result = await bus.putEvents(entries);
      // A duplicated delivery on purpose (a scripted shortcut): the same entries again.
      if (options.repeat?.(entries)) await bus.putEvents(entries);
      return {
        $metadata: {},
        FailedEntryCount: result.failedEntryCount,
        Entries: result.entries.map((entry) => ({ EventId: entry.eventId, ErrorCode: entry.errorCode, ErrorMessage: entry.errorMessage })),
      };
    },
  };
}

/**
 * What is wrong with a PutEvents entry for this bus, as EventBridge would refuse it: missing
 * Source / DetailType / Detail, a Detail that is not a JSON object, a source in the reserved
 * `aws.` namespace, another bus named, or an event over 256 KB. Empty when it is fine. With
 * `sender` 'aws' (an AWS service's own event, see putServiceEvent), the source must be in `aws.`.
 *
 * @example
 * ```ts
 * validatePutEventsEntry({ Source: 'legion', DetailType: 'RunRequested', Detail: '[]' }, bus); // ['Detail: must be a JSON object']
 * ```
 */
export function validatePutEventsEntry(entry: PutEventsEntry, bus: Pick<LocalEventBus, 'name' | 'arn'>, sender: 'caller' | 'aws' = 'caller'): string[] {
  const problems: string[] = [];
  const text = (value: unknown): value is string => typeof value === 'string' && value.trim() !== '';
  if (!text(entry.Source)) problems.push('Source: required');
  else if (sender === 'caller' && entry.Source.startsWith('aws.')) problems.push(`Source: "${entry.Source}" is reserved for AWS services`);
  else if (sender === 'aws' && !entry.Source.startsWith('aws.')) problems.push(`Source: "${entry.Source}" is not an AWS service's (aws.*)`);
  if (!text(entry.DetailType)) problems.push('DetailType: required');
  if (!text(entry.Detail)) problems.push('Detail: required');
  else {
    try {
      const detail = JSON.parse(entry.Detail) as unknown;
      if (detail === null || typeof detail !== 'object' || Array.isArray(detail)) problems.push('Detail: must be a JSON object');
    } catch {
      problems.push('Detail: not valid JSON');
    }
  }
  if (entry.EventBusName !== undefined && entry.EventBusName !== bus.name && entry.EventBusName !== bus.arn) {
    problems.push(`EventBusName: no event bus "${entry.EventBusName}" here (this bus is ${bus.name})`);
  }
  if (Buffer.byteLength(JSON.stringify(entry)) > MAX_ENTRY_BYTES) problems.push(`the entry is over ${MAX_ENTRY_BYTES} bytes`);
  return problems;
}
