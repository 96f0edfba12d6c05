/**
 * Test support. FAKE (EventBridge cannot run here): PutEvents that records every command, and, with
 * `failWith` set, refuses every entry with that error code the way EventBridge does (HTTP 200 with
 * `FailedEntryCount`, not an exception).
 */
import type { PutEventsCommand, PutEventsCommandOutput, PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';

export class FakeEventBridge {
  /** Every command sent, refused ones included. */
  public readonly commands: PutEventsCommand[] = [];
  /** The entries accepted (put on the bus). */
  public readonly entries: PutEventsRequestEntry[] = [];
  public failWith: string | undefined;

  public send(command: PutEventsCommand): Promise<PutEventsCommandOutput> {
    this.commands.push(command);
    const entries = command.input.Entries ?? [];
    const { failWith } = this;
    if (failWith) return Promise.resolve({ $metadata: {}, FailedEntryCount: entries.length, Entries: entries.map(() => ({ ErrorCode: failWith, ErrorMessage: 'try later' })) });
    this.entries.push(...entries);
    return Promise.resolve({ $metadata: {}, FailedEntryCount: 0, Entries: entries.map((_, index) => ({ EventId: `e-${String(index)}` })) });
  }
}
