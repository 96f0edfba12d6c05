/**
 * `legion emit` as a user runs it: the CLI in-process (runLegion on captured streams) that puts the events of a
 * file on the local event bus (on the test run's DynamoDB Local, test/support/legion-process.ts).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EmitReport } from '../../bin/cli/emit.ts';
import { legionInProcess } from '../support/legion-in-process.ts';
import type { CliOutcome } from '../support/legion-process.ts';

const legion = (...args: string[]): Promise<CliOutcome> => legionInProcess(args);

describe('CLI: legion emit', () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'legion-emit-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('runs the example RunRequested event and prints the run and its RunSucceeded event (--json)', async () => {
    const result = await legion('emit', 'examples/run-requested.json', '--json', '--quiet');

    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    const report = JSON.parse(result.stdout) as EmitReport;
    expect(report.events).toHaveLength(1);
    expect(report.events[0]).toMatchObject({
      detailType: 'RunRequested',
      matchedRules: ['legion-run-requested-supervisor-worker'],
      undeliverable: false,
      runs: [{ taskId: 'ticket-20261124-0042', team: 'telecom-support', status: 'STARTED', runStatus: 'SUCCEEDED' }],
    });
    expect(report.outcomes.map((event) => [event['detail-type'], event.detail.taskId])).toEqual([['RunSucceeded', 'ticket-20261124-0042']]);
  }, 90_000);

  it('accepts the event shape (source, detail-type, detail as JSON text) and reports an event no rule matches (exit 1)', async () => {
    const file = join(dir, 'blackboard.json');
    await writeFile(file, JSON.stringify([{ source: 'legion', 'detail-type': 'RunRequested', detail: JSON.stringify({ pattern: 'blackboard', input: {} }) }]));

    const result = await legion('emit', file, '--quiet');

    expect(result.status).toBe(1);
    expect(result.stdout).toMatch(/RunRequested from legion .*matched no rule \(undeliverable/);
  }, 90_000);

  it.each([
    ['a missing file', '/nonexistent/events.json', /cannot read \/nonexistent\/events.json: ENOENT/],
    ['malformed JSON', 'bad.json', /bad.json is not valid JSON/],
    ['an entry without DetailType', 'no-type.json', /no-type.json is not a valid event:\n {2}- DetailType: required/],
    ['a RunRequested event without input', 'no-input.json', /Detail.input: required/],
    ['an input the pattern refuses', 'bad-input.json', /Detail.input.request/],
    ['an empty array', 'empty.json', /holds no event/],
  ])('exits 2 for %s, naming the problem', async (_name, fileName, message) => {
    const contents: Record<string, string> = {
      'bad.json': '{"Source": ',
      'no-type.json': JSON.stringify({ Source: 'legion', Detail: {} }),
      'no-input.json': JSON.stringify({ Source: 'legion', DetailType: 'RunRequested', Detail: { pattern: 'pipeline' } }),
      'bad-input.json': JSON.stringify({ Source: 'legion', DetailType: 'RunRequested', Detail: { pattern: 'supervisor-worker', input: { text: 'hi' } } }),
      'empty.json': '[]',
    };
    const file = fileName.startsWith('/') ? fileName : join(dir, fileName);
    const content = contents[fileName];
    if (content !== undefined) await writeFile(file, content);

    const result = await legion('emit', file);

    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stdout).toBe('');
  });
});
