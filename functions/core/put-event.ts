/**
 * Puts one event on the Legion bus and turns a refused entry into an error: PutEvents answers
 * HTTP 200 with `FailedEntryCount` > 0 when it refuses an entry, which the SDK does not throw.
 * publish-outcome and the bidder agents share it.
 *
 * @example
 * ```ts
 * await putEvent({ Source: 'legion', DetailType: 'BidSubmitted', Detail: JSON.stringify(detail), EventBusName: bus }, { events, eventBusName: bus });
 * ```
 */
import { PutEventsCommand, type PutEventsCommandOutput } from '@aws-sdk/client-eventbridge';
import { EventPublishError } from './errors.ts';
import type { PutEventsEntry } from './events.ts';

/** The part of the EventBridge client that puts events (the real EventBridgeClient fits it). */
export interface PutEventsClient {
  send(command: PutEventsCommand): Promise<PutEventsCommandOutput>;
}

/** @throws {EventPublishError} when EventBridge refuses the entry */
export async function putEvent(entry: PutEventsEntry, deps: { events: PutEventsClient; eventBusName: string }): Promise<string | undefined> {
  const answer = await deps.events.send(new PutEventsCommand({ Entries: [entry] }));
  const result = answer.Entries?.[0];
  if ((answer.FailedEntryCount ?? 0) > 0 || result?.ErrorCode) {
    throw new EventPublishError(deps.eventBusName, entry.DetailType, `${result?.ErrorCode ?? 'failed'}: ${result?.ErrorMessage ?? 'no message'}`);
  }
  return result?.EventId;
}
