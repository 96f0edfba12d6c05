/**
 * The local event bus: PutEvents entry validation, events built the way EventBridge builds them,
 * and routing through the real rule patterns of functions/core/events.ts.
 */
import { describe, expect, it } from 'vitest';
import { InvalidEventError } from '../../functions/core/errors.ts';
import { DETAIL_TYPES, type PutEventsEntry, runOutcomePattern, runRequestedPattern } from '../../functions/core/events.ts';
import { PATTERN_NAMES } from '../../functions/core/contract.ts';
import { InvalidEventPatternError } from '../../local/event-pattern.ts';
import { type BusEvent, LocalEventBus, validatePutEventsEntry } from '../../local/local-event-bus.ts';

const NOW = new Date('2026-11-24T10:20:30.456Z');

function entry(detail: unknown, overrides: Partial<PutEventsEntry> = {}): PutEventsEntry {
  return { Source: 'legion', DetailType: DETAIL_TYPES.runRequested, Detail: JSON.stringify(detail), ...overrides };
}

/** A bus with one RunRequested rule per pattern (as the stack deploys them), recording what each target got. */
function busWithPatternRules(): { bus: LocalEventBus; received: Record<string, BusEvent[]> } {
  const bus = new LocalEventBus({ clock: () => NOW });
  const received: Record<string, BusEvent[]> = {};
  for (const pattern of PATTERN_NAMES) {
    received[pattern] = [];
    bus.addRule({
      name: `run-${pattern}`,
      eventPattern: runRequestedPattern(pattern),
      targets: [{ id: pattern, handler: (event) => Promise.resolve(received[pattern]?.push(event)) }],
    });
  }
  return { bus, received };
}

describe('Class: LocalEventBus', () => {
  describe('Feature: routing by the deployed patterns', () => {
    it.each(PATTERN_NAMES)('delivers a RunRequested event for %s to that pattern\'s rule only', async (pattern) => {
      const { bus, received } = busWithPatternRules();

      const result = await bus.putEvents([entry({ pattern, input: {} })]);

      expect(result.entries[0]?.matchedRules).toEqual([`run-${pattern}`]);
      for (const other of PATTERN_NAMES) expect(received[other]).toHaveLength(other === pattern ? 1 : 0);
    });

    it.each([
      ['another source', entry({ pattern: 'pipeline', input: {} }, { Source: 'legion.tests' })],
      ['another detail-type', entry({ pattern: 'pipeline', input: {} }, { DetailType: 'RunSucceeded' })],
      ['an unknown pattern', entry({ pattern: 'blackboard', input: {} })],
      ['a pattern in another case', entry({ pattern: 'Pipeline', input: {} })],
      ['no pattern', entry({ input: {} })],
    ])('matches no rule for %s, and records it as undeliverable', async (_name, put) => {
      const { bus } = busWithPatternRules();

      const result = await bus.putEvents([put]);

      expect(result.failedEntryCount).toBe(0);
      expect(result.entries[0]?.matchedRules).toEqual([]);
      expect(bus.undeliverable).toHaveLength(1);
      expect(bus.deliveries).toEqual([]);
    });

    it('matches the outcome pattern on every outcome detail-type only', async () => {
      const bus = new LocalEventBus();
      bus.addRule({ name: 'outcomes', eventPattern: runOutcomePattern(), targets: [] });

      const results = await bus.putEvents([
        entry({ taskId: 't' }, { DetailType: 'RunSucceeded' }),
        entry({ taskId: 't' }, { DetailType: 'RunFailed' }),
        entry({ taskId: 't' }, { DetailType: 'RunEscalated' }),
        entry({ taskId: 't' }, { DetailType: 'RunStarted' }),
      ]);

      expect(results.entries.map((result) => result.matchedRules)).toEqual([['outcomes'], ['outcomes'], ['outcomes'], []]);
    });
  });

  describe('Method: putEvents', () => {
    it('builds the event as EventBridge does: id, whole-second time, account, region, parsed detail', async () => {
      const { bus, received } = busWithPatternRules();

      const result = await bus.putEvents([entry({ pattern: 'pipeline', input: { brief: 'b' } }, { Resources: ['arn:x'] })]);

      const event = received.pipeline?.[0];
      expect(event).toEqual({
        version: '0',
        id: result.entries[0]?.eventId,
        'detail-type': 'RunRequested',
        source: 'legion',
        account: '000000000000',
        time: '2026-11-24T10:20:30Z',
        region: 'local',
        resources: ['arn:x'],
        detail: { pattern: 'pipeline', input: { brief: 'b' } },
      });
      expect(event?.id).toMatch(/^[0-9a-f-]{36}$/);
    });

    it('answers an invalid entry with an error code and still puts the valid ones', async () => {
      const { bus, received } = busWithPatternRules();

      const result = await bus.putEvents([entry({ pattern: 'pipeline', input: {} }, { Detail: '[1]' }), entry({ pattern: 'pipeline', input: {} })]);

      expect(result.failedEntryCount).toBe(1);
      expect(result.entries[0]).toMatchObject({ errorCode: 'InvalidArgument', errorMessage: 'Detail: must be a JSON object' });
      expect(result.entries[0]?.eventId).toBeUndefined();
      expect(received.pipeline).toHaveLength(1);
    });

    it('refuses a call with no entry or more than 10', async () => {
      const bus = new LocalEventBus();
      await expect(bus.putEvents([])).rejects.toThrow(InvalidEventError);
      await expect(bus.putEvents(Array.from({ length: 11 }, () => entry({})))).rejects.toThrow(/1 to 10 entries, got 11/);
    });

    it('records a target that throws as a failed delivery and delivers to the other targets', async () => {
      const bus = new LocalEventBus();
      const delivered: string[] = [];
      bus.addRule({
        name: 'r',
        eventPattern: runRequestedPattern('pipeline'),
        targets: [
          { id: 'broken', handler: () => Promise.reject(new InvalidEventError('start-run', ['detail.team: unknown'])) },
          { id: 'fine', handler: (event) => Promise.resolve(delivered.push(event.id)) },
        ],
      });

      const result = await bus.putEvents([entry({ pattern: 'pipeline', input: {} })]);

      expect(result.entries[0]?.deliveries).toMatchObject([
        { target: 'broken', status: 'FAILED', error: 'InvalidEventError: Invalid event for start-run: detail.team: unknown' },
        { target: 'fine', status: 'DELIVERED', result: 1 },
      ]);
      expect(delivered).toHaveLength(1);
    });
  });

  describe('Method: putServiceEvent', () => {
    const alarmEntry = (source: string): PutEventsEntry => ({ Source: source, DetailType: 'CloudWatch Alarm State Change', Detail: JSON.stringify({ alarmName: 'Rollbacks' }) });

    it('delivers an AWS service\'s event (aws.* source), which putEvents refuses from callers', async () => {
      const bus = new LocalEventBus({ clock: () => NOW });
      const received: BusEvent[] = [];
      bus.addRule({ name: 'alarms', eventPattern: { source: ['aws.cloudwatch'] }, targets: [{ id: 'inbox', handler: (event) => Promise.resolve(received.push(event)) }] });

      const refused = await bus.putEvents([alarmEntry('aws.cloudwatch')]);
      const delivered = await bus.putServiceEvent(alarmEntry('aws.cloudwatch'));

      expect(refused.entries[0]?.errorMessage).toMatch(/reserved for AWS services/);
      expect(delivered.matchedRules).toEqual(['alarms']);
      expect(received).toMatchObject([{ source: 'aws.cloudwatch', 'detail-type': 'CloudWatch Alarm State Change', detail: { alarmName: 'Rollbacks' } }]);
      expect(bus.events).toHaveLength(1);
    });

    it('refuses a source that is not an AWS service\'s', async () => {
      await expect(new LocalEventBus().putServiceEvent(alarmEntry('legion'))).rejects.toThrow(InvalidEventError);
    });
  });

  describe('Method: addRule', () => {
    it('validates the pattern as PutRule does', () => {
      const bus = new LocalEventBus();
      expect(() => {
        bus.addRule({ name: 'empty', eventPattern: {}, targets: [] });
      }).toThrow(InvalidEventPatternError);
      expect(() => {
        bus.addRule({ name: 'scalar', eventPattern: { source: 'legion' }, targets: [] });
      }).toThrow(InvalidEventPatternError);
    });

    it('refuses a second rule of the same name', () => {
      const bus = new LocalEventBus();
      bus.addRule({ name: 'r', eventPattern: runRequestedPattern('pipeline'), targets: [] });
      expect(() => {
        bus.addRule({ name: 'r', eventPattern: runRequestedPattern('pipeline'), targets: [] });
      }).toThrow(/rule r already exists/);
    });
  });
});

describe('Function: validatePutEventsEntry', () => {
  const bus = { name: 'legion-local', arn: 'arn:aws:events:local:000000000000:event-bus/legion-local' };

  it.each([
    ['a valid entry', entry({ a: 1 }), []],
    ['the bus by name', entry({ a: 1 }, { EventBusName: 'legion-local' }), []],
    ['the bus by ARN', entry({ a: 1 }, { EventBusName: bus.arn }), []],
    ['no Source', entry({ a: 1 }, { Source: '' }), ['Source: required']],
    ['a reserved aws. source', entry({ a: 1 }, { Source: 'aws.states' }), ['Source: "aws.states" is reserved for AWS services']],
    ['no DetailType', entry({ a: 1 }, { DetailType: ' ' }), ['DetailType: required']],
    ['no Detail', entry({}, { Detail: '' }), ['Detail: required']],
    ['Detail not JSON', entry({}, { Detail: '{"a":' }), ['Detail: not valid JSON']],
    ['Detail an array', entry([1, 2]), ['Detail: must be a JSON object']],
    ['Detail null', entry(null), ['Detail: must be a JSON object']],
    ['another bus', entry({ a: 1 }, { EventBusName: 'default' }), ['EventBusName: no event bus "default" here (this bus is legion-local)']],
    ['an entry over 256 KB', entry({ text: 'x'.repeat(262_144) }), ['the entry is over 262144 bytes']],
  ])('%s', (_name, put, problems) => {
    expect(validatePutEventsEntry(put, bus)).toEqual(problems);
  });
});
