/**
 * Property-based tests (fast-check): malformed input thrown at every door of Legion, the CLI's
 * parsers, run inputs, the events of the control functions and team definitions. Whatever comes in,
 * the answer is a clear error of Legion's hierarchy (a UsageError, an InvalidEventError carrying
 * zod's problems, a TeamDefinitionError...) whose message names the problem: never a raw
 * TypeError or SyntaxError, never a stack trace, and nothing done (no execution started, no bid or
 * approval stored) for an input refused. The CLI itself runs as a child process in two cases only.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { StartExecutionCommand, StartExecutionCommandOutput } from '@aws-sdk/client-sfn';
import type { Context } from 'aws-lambda';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readEventsFile } from '../../bin/cli/emit.ts';
import { parseInjections } from '../../bin/cli/inject.ts';
import { type Answers, profileFrom } from '../../bin/cli/recommend.ts';
import { parseJsonOption, resolveInput } from '../../bin/cli/run-input.ts';
import { escapeControlCharacters } from '../../bin/cli/terminal-text.ts';
import { createCollectBidHandler } from '../../functions/patterns/auction/collect-bid.ts';
import type { AuctionControlDependencies } from '../../functions/patterns/auction/open-auction.ts';
import { type RequestApprovalDependencies, createRequestApprovalHandler } from '../../functions/control/request-approval.ts';
import { createStartRunHandler } from '../../functions/control/start-run.ts';
import type { DeployedMachine } from '../../functions/core/config.ts';
import { MAX_EXECUTION_INPUT_BYTES, PATTERN_NAMES, type PatternName } from '../../functions/core/contract.ts';
import { InvalidEventError, LegionError, TeamDefinitionError, UsageError } from '../../functions/core/errors.ts';
import { executionInputBytes, executionInputSizeProblem } from '../../functions/core/execution-input.ts';
import { PATTERNS } from '../../functions/patterns/index.ts';
import { type TeamDefinition, loadTeamFile, parseTeam } from '../../functions/core/team.ts';
import { TelemetrySink } from '../../local/telemetry-sink.ts';
import { legionProcess } from '../support/legion-process.ts';

/** Enough runs to find the usual holes, few enough that the file runs in seconds on a shared machine. */
const RUNS = { numRuns: 150 };
/** Properties that write a file per run. */
const FILE_RUNS = { numRuns: 60 };

type ErrorClass = abstract new (...args: never[]) => Error;

/** How a call ended: its value, or what it threw. */
type Outcome<T> = { ok: true; value: T } | { ok: false; error: unknown };

async function outcomeOf<T>(work: () => Promise<T> | T): Promise<Outcome<T>> {
  try {
    return { ok: true, value: await work() };
  } catch (error) {
    return { ok: false, error };
  }
}

/** A clear error: one of Legion's (of `kind`), its message says what is wrong, and no stack trace leaks into it. */
function expectClearError(error: unknown, kind: ErrorClass = LegionError): void {
  expect(error).toBeInstanceOf(kind);
  expect(error).toBeInstanceOf(LegionError);
  const { message } = error as Error;
  expect(message.trim().length).toBeGreaterThan(10);
  expect(message).not.toMatch(/\n\s+at .+:\d+:\d+/);
}

/** Text with the characters that break terminals and parsers: ESC, BEL, CSI, DEL, NUL, CR, quotes and brackets. */
const hostileText = fc.string({
  unit: fc.constantFrom('\u001b', '\u0007', '\u009b', '\u007f', '\u0000', '\r', '\n', '\t', ']0;', '[2J', '"', '{', '}', '[', ':', ',', '\\', 'a', 'é', '\u{1F600}'),
  maxLength: 40,
});

/** JSON text that is almost right: cut short, with garbage after it, or with a character replaced. */
const brokenJsonText = fc.oneof(
  fc.json().map((text) => text.slice(0, Math.max(0, text.length - 1))),
  fc.tuple(fc.json(), hostileText).map(([text, tail]) => `${text}${tail}`),
  fc.tuple(fc.json(), fc.nat(), hostileText).map(([text, at, junk]) => `${text.slice(0, at % (text.length + 1))}${junk}${text.slice(at % (text.length + 1))}`),
);

/** Any text a user might pass where JSON is expected. */
const jsonishText = fc.oneof(fc.json(), brokenJsonText, hostileText, fc.string({ unit: 'binary', maxLength: 60 }));

/** An object like `base` with one generated change: a key removed, set to a hostile value, or a new key. */
function mutationOf(base: Record<string, unknown>): fc.Arbitrary<Record<string, unknown>> {
  const keys = Object.keys(base);
  const hostileValue = fc.oneof(fc.jsonValue(), hostileText, fc.constantFrom(null, -1, 0, 1e308, '', [], {}, true));
  return fc.oneof(
    fc.constantFrom(...keys).map((key) => Object.fromEntries(Object.entries(base).filter(([name]) => name !== key))),
    fc.tuple(fc.constantFrom(...keys), hostileValue).map(([key, value]) => ({ ...base, [key]: value })),
    fc.tuple(hostileText, hostileValue).map(([key, value]) => ({ ...base, [key]: value })),
  );
}

/** Every path (array of keys) into a JSON value, for mutating nested definitions. */
function pathsOf(value: unknown, prefix: readonly (string | number)[] = []): (string | number)[][] {
  if (value === null || typeof value !== 'object') return [[...prefix]];
  const entries: [string | number, unknown][] = Array.isArray(value) ? value.map((item, index) => [index, item]) : Object.entries(value);
  return [[...prefix], ...entries.flatMap(([key, item]) => pathsOf(item, [...prefix, key]))];
}

/** A deep copy of `value` with `replacement` at `path` (removed when `replacement` is undefined). */
function replaceAt(value: unknown, path: readonly (string | number)[], replacement: unknown): unknown {
  if (path.length === 0) return replacement;
  const [head, ...rest] = path as [string | number, ...(string | number)[]];
  if (Array.isArray(value)) {
    const items = [...(value as unknown[])];
    if (rest.length === 0 && replacement === undefined) items.splice(Number(head), 1);
    else items[Number(head)] = replaceAt(items[Number(head)], rest, replacement);
    return items;
  }
  const entries = Object.entries(value as Record<string, unknown>);
  if (rest.length === 0 && replacement === undefined) return Object.fromEntries(entries.filter(([key]) => key !== String(head)));
  return Object.fromEntries(entries.map(([key, item]) => [key, key === String(head) ? replaceAt(item, rest, replacement) : item]));
}

/** A plain-JSON copy of a parsed definition (no undefined, no prototypes), as a user's file would give it. */
function asJson(value: unknown): Record<string, unknown> {
  return JSON.parse(JSON.stringify(value)) as Record<string, unknown>;
}

const context = { functionName: 'legion-control', awsRequestId: 'r-1', getRemainingTimeInMillis: () => 30_000 } as unknown as Context;

/** A logger and metrics whose output a sink keeps (nothing printed). */
function telemetryOf(serviceName: string): { logger: Logger; metrics: Metrics } {
  const logger = new Logger({ serviceName });
  // The logger (kept by the sink) also takes Metrics' warning that a refused event published no metric.
  const metrics = new Metrics({ namespace: 'Legion', serviceName, logger });
  new TelemetrySink().attach(logger, metrics);
  return { logger, metrics };
}

/**
 * A store or client that records every call and answers each with `answer`: whatever a handler
 * reaches of it counts as done (stored, started, sent). `forTeam` answers the recorder itself.
 */
function recorder(answer: unknown): { calls: string[]; fake: Record<string, unknown> } {
  const calls: string[] = [];
  const fake: Record<string, unknown> = new Proxy(
    {},
    {
      get: (_target, property) => {
        if (property === 'then') return undefined; // not a promise
        if (property === 'forTeam') return () => fake;
        return (...args: unknown[]) => {
          calls.push(`${String(property)}(${args.length})`);
          return Promise.resolve(answer);
        };
      },
    },
  );
  return { calls, fake };
}

let teams: Record<PatternName, TeamDefinition>;
let workDir: string;

beforeAll(async () => {
  const loaded = await Promise.all(PATTERN_NAMES.map(async (pattern) => [pattern, await loadTeamFile(PATTERNS[pattern].exampleTeamFile)] as const));
  teams = Object.fromEntries(loaded) as Record<PatternName, TeamDefinition>;
  workDir = await mkdtemp(join(tmpdir(), 'legion-malformed-'));
});

afterAll(async () => {
  await rm(workDir, { recursive: true, force: true });
});

describe('Function: escapeControlCharacters', () => {
  it('leaves no control character but newline and tab, and keeps JSON text valid JSON with the same value', () => {
    fc.assert(
      fc.property(fc.oneof(hostileText, fc.string({ unit: 'binary' })), (text) => {
        const escaped = escapeControlCharacters(text);
        expect(escaped).not.toMatch(/[^\P{Cc}\n\t]/u);
        expect(JSON.parse(escapeControlCharacters(JSON.stringify({ text }))) as unknown).toEqual({ text });
        // Text without control characters is printed as it is.
        if (!/[^\P{Cc}\n\t]/u.test(text)) expect(escaped).toBe(text);
      }),
      RUNS,
    );
  });

  it('prints the reported request as visible text: no ESC or BEL reaches the terminal', () => {
    expect(escapeControlCharacters('\u001b]0;pwned\u0007\u001b[2J')).toBe('\\u001b]0;pwned\\u0007\\u001b[2J');
  });
});

describe('Function: resolveInput (legion run --input / --input-file)', () => {
  it('answers any --input text with the input or a UsageError naming --input or the pattern', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...PATTERN_NAMES), jsonishText, async (pattern, text) => {
        const outcome = await outcomeOf(() => resolveInput(pattern, teams[pattern], { input: text }));
        if (outcome.ok) {
          expect(PATTERNS[pattern].inputSchema.safeParse(outcome.value).success).toBe(true);
          return;
        }
        expectClearError(outcome.error, UsageError);
        expect((outcome.error as Error).message).toMatch(/^(--input is not valid JSON|input for )/);
      }),
      RUNS,
    );
  });

  it("answers a pattern's example input with one generated change with the input or a UsageError listing the problems", async () => {
    const changedInputs = fc.constantFrom(...PATTERN_NAMES).chain((pattern) => fc.tuple(fc.constant(pattern), mutationOf(asJson(teams[pattern].example))));
    await fc.assert(
      fc.asyncProperty(changedInputs, async ([pattern, input]) => {
        const outcome = await outcomeOf(() => resolveInput(pattern, teams[pattern], { input: JSON.stringify(input) }));
        if (!outcome.ok) {
          expectClearError(outcome.error, UsageError);
          expect((outcome.error as Error).message).toContain(`input for ${pattern} is not valid:\n  - `);
        }
      }),
      RUNS,
    );
  });

  it('refuses an input over 256 KiB of UTF-8 JSON, and only such an input, before anything starts', async () => {
    const sizes = fc.record({ length: fc.integer({ min: MAX_EXECUTION_INPUT_BYTES - 40, max: MAX_EXECUTION_INPUT_BYTES + 40 }), character: fc.constantFrom('a', 'é', '\u{1F600}') });
    await fc.assert(
      fc.asyncProperty(sizes, async ({ length, character }) => {
        // The request itself is short (the schema bounds it); an extra key, which the schema lets through, is large.
        const overhead = Buffer.byteLength(JSON.stringify({ request: 'hi', extra: '' }));
        const input = { request: 'hi', extra: character.repeat(Math.floor((length - overhead) / Buffer.byteLength(character))) };
        const outcome = await outcomeOf(() => resolveInput('supervisor-worker', teams['supervisor-worker'], { input: JSON.stringify(input) }));
        const tooLarge = executionInputBytes(input) > MAX_EXECUTION_INPUT_BYTES;
        expect(outcome.ok).toBe(!tooLarge);
        if (!outcome.ok) {
          expectClearError(outcome.error, UsageError);
          expect((outcome.error as Error).message).toMatch(/^input for supervisor-worker is \d+ bytes of JSON, over the 262144 bytes \(256 KiB\)/);
        }
      }),
      { numRuns: 20 },
    );
  });

  it('reads any --input-file content into the input or a UsageError naming the file', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(jsonishText, async (text) => {
        const file = join(workDir, `input-${String((run += 1))}.json`);
        await writeFile(file, text);
        const outcome = await outcomeOf(() => resolveInput('pipeline', teams.pipeline, { inputFile: file }));
        if (!outcome.ok) {
          expectClearError(outcome.error, UsageError);
          expect((outcome.error as Error).message).toMatch(new RegExp(`^(--input-file ${file} is not valid JSON|input for pipeline)`));
        }
      }),
      FILE_RUNS,
    );
  });
});

describe('Function: executionInputSizeProblem', () => {
  it('names a problem exactly when the UTF-8 JSON of the input is over MAX_EXECUTION_INPUT_BYTES', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (input) => {
        expect(executionInputSizeProblem(input) === undefined).toBe(Buffer.byteLength(JSON.stringify(input)) <= MAX_EXECUTION_INPUT_BYTES);
      }),
      RUNS,
    );
    expect(executionInputSizeProblem({ extra: 'x'.repeat(1_000_000) })).toMatch(/^is 1000012 bytes of JSON, over the 262144 bytes/);
    expect(executionInputSizeProblem({ big: 10n })).toMatch(/^cannot be serialised as JSON/);
  });
});

describe('Function: parseInjections, profileFrom, parseJsonOption (the other CLI options)', () => {
  it('answers any --inject values with an injection or a UsageError', async () => {
    const injection = fc.oneof(
      hostileText,
      fc.tuple(fc.constantFrom('crash', 'inconsistent', 'fail', 'late-bid', 'duplicate-bid', 'deadlock', 'loop', 'hallucination'), fc.array(fc.oneof(hostileText, fc.constantFrom('Classify', 'Work', '0', '-1', '3', 'NaN', '')), { maxLength: 3 })).map(
        ([kind, parts]) => [kind, ...parts].join(':'),
      ),
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...PATTERN_NAMES), fc.array(injection, { maxLength: 3 }), async (pattern, values) => {
        const outcome = await outcomeOf(() => parseInjections(values, pattern, teams[pattern]));
        if (!outcome.ok) expectClearError(outcome.error, UsageError);
      }),
      RUNS,
    );
  });

  it('answers any recommend answers with a profile or a UsageError naming the flag', () => {
    const answer = fc.option(fc.oneof(hostileText, fc.constantFrom('low', 'medium', 'high', 'single', 'many-roles', 'yes', 'no')), { nil: undefined });
    fc.assert(
      fc.property(fc.record({ complexity: answer, flow: answer, dynamic: answer, decentralised: answer }), (answers) => {
        const complete = Object.fromEntries(Object.entries(answers).filter(([, value]) => value !== undefined)) as Answers;
        try {
          profileFrom(complete);
        } catch (error) {
          expectClearError(error, UsageError);
          expect((error as Error).message).toMatch(/--(complexity|flow|dynamic|decentralised)/);
        }
      }),
      RUNS,
    );
  });

  it('answers any approve --output text with its JSON value or a UsageError naming --output', () => {
    fc.assert(
      fc.property(jsonishText, (text) => {
        try {
          expect(parseJsonOption('--output', text)).toEqual(JSON.parse(text));
        } catch (error) {
          expectClearError(error, UsageError);
          expect((error as Error).message).toMatch(/^--output must be JSON/);
        }
      }),
      RUNS,
    );
  });
});

describe('Function: readEventsFile (legion emit)', () => {
  const eventLike = fc.record(
    {
      Source: fc.oneof(fc.constant('legion'), hostileText, fc.jsonValue()),
      DetailType: fc.oneof(fc.constantFrom('RunRequested', 'BidSubmitted'), hostileText),
      Detail: fc.oneof(
        jsonishText,
        fc.jsonValue(),
        fc.record({ pattern: fc.oneof(fc.constantFrom(...PATTERN_NAMES), hostileText), input: fc.jsonValue(), idempotencyKey: fc.oneof(hostileText, fc.constant('ticket-1')) }, { requiredKeys: [] }),
      ),
    },
    { requiredKeys: [] },
  );
  const fileContent = fc.oneof(jsonishText, eventLike.map((event) => JSON.stringify(event)), fc.array(eventLike, { maxLength: 3 }).map((events) => JSON.stringify(events)));

  it('reads any file into valid entries or a UsageError naming the file (exit 2), never a SyntaxError', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fileContent, async (text) => {
        const file = join(workDir, `events-${String((run += 1))}.json`);
        await writeFile(file, text);
        const outcome = await outcomeOf(() => readEventsFile(file));
        if (!outcome.ok) {
          expectClearError(outcome.error, UsageError);
          expect((outcome.error as Error).message).toContain(file);
        }
      }),
      FILE_RUNS,
    );
  });

  it('names an invalid JSON Detail string of a RunRequested event (it used to end in a raw SyntaxError)', async () => {
    const file = join(workDir, 'bad-detail.json');
    await writeFile(file, JSON.stringify({ Source: 'legion', DetailType: 'RunRequested', Detail: '{"pattern": "pipeline",' }));
    const outcome = await outcomeOf(() => readEventsFile(file));
    expect(outcome.ok).toBe(false);
    if (!outcome.ok) {
      expectClearError(outcome.error, UsageError);
      expect((outcome.error as Error).message).toContain('Detail: not valid JSON');
    }
  });
});

describe('Function: start-run (RunRequested events)', () => {
  const MACHINES: DeployedMachine[] = [
    { team: 'telecom-support', pattern: 'supervisor-worker', stateMachineArn: 'arn:aws:states:eu-west-1:123456789012:stateMachine:legion-telecom-support', isDefault: true },
    { team: 'content-pipeline', pattern: 'pipeline', stateMachineArn: 'arn:aws:states:eu-west-1:123456789012:stateMachine:legion-content-pipeline', isDefault: true },
  ];
  const valid = { version: '0', id: 'e-1', source: 'legion', 'detail-type': 'RunRequested', time: new Date().toISOString(), detail: { pattern: 'supervisor-worker', input: { request: 'my bill is wrong' }, idempotencyKey: 'ticket-1' } };

  function startRunHandler(): { handler: ReturnType<typeof createStartRunHandler>; started: string[] } {
    const started: string[] = [];
    const sfn = {
      send: (command: StartExecutionCommand): Promise<StartExecutionCommandOutput> => {
        started.push(command.input.input ?? '');
        return Promise.resolve({ $metadata: {}, executionArn: 'arn:aws:states:eu-west-1:123456789012:execution:x:y', startDate: new Date() });
      },
    };
    return { handler: createStartRunHandler({ sfn, machines: MACHINES, ...telemetryOf('legion-start-run') }), started };
  }

  const malformedEvents = fc.oneof(
    fc.anything(),
    mutationOf(valid),
    mutationOf(valid.detail).map((detail) => ({ ...valid, detail })),
    fc.jsonValue().map((input) => ({ ...valid, detail: { ...valid.detail, input } })),
  );

  it('starts a run or answers an InvalidEventError naming the field; a refused event starts nothing', async () => {
    await fc.assert(
      fc.asyncProperty(malformedEvents, async (event) => {
        const { handler, started } = startRunHandler();
        const outcome = await outcomeOf(() => handler(event, context));
        if (outcome.ok) {
          expect(started).toHaveLength(1);
          return;
        }
        expectClearError(outcome.error, InvalidEventError);
        expect(started).toEqual([]);
      }),
      RUNS,
    );
  });

  it('refuses an input over 256 KiB (Step Functions would) with a clear error, and starts nothing', async () => {
    const { handler, started } = startRunHandler();
    const outcome = await outcomeOf(() => handler({ ...valid, detail: { ...valid.detail, input: { request: 'hi', extra: 'x'.repeat(1_048_576) } } }, context));
    expect(outcome.ok).toBe(false);
    if (!outcome.ok) {
      expectClearError(outcome.error, InvalidEventError);
      expect((outcome.error as Error).message).toMatch(/detail\.input: is \d+ bytes of JSON, over the 262144 bytes \(256 KiB\)/);
    }
    expect(started).toEqual([]);
  });
});

describe('Function: collect-bid (BidSubmitted events)', () => {
  const now = Date.now();
  const bid = {
    auctionId: 'task-1',
    round: 1,
    bidId: 'bid-1',
    bidder: 'lexi',
    capabilityScore: 0.8,
    priceEstimate: 0.02,
    etaSeconds: 30,
    expiresAt: new Date(now + 60_000).toISOString(),
    submittedAt: new Date(now).toISOString(),
  };
  const valid = { id: 'e-1', source: 'legion', 'detail-type': 'BidSubmitted', detail: { team: 'marketplace', bid } };

  it('stores a bid or answers an InvalidEventError; a refused event stores nothing', async () => {
    const malformedBids = fc.oneof(fc.anything(), mutationOf(valid), mutationOf(bid).map((changed) => ({ ...valid, detail: { team: 'marketplace', bid: changed } })));
    await fc.assert(
      fc.asyncProperty(malformedBids, async (event) => {
        const auctions = recorder({ status: 'STORED' });
        const deps = { auctions: auctions.fake, ...telemetryOf('legion-collect-bid') } as unknown as AuctionControlDependencies;
        const outcome = await outcomeOf(() => createCollectBidHandler(deps)(event, context));
        if (outcome.ok) {
          expect(auctions.calls).toEqual(['recordBid(1)']);
          return;
        }
        expectClearError(outcome.error, InvalidEventError);
        expect(auctions.calls).toEqual([]);
      }),
      RUNS,
    );
  });
});

describe('Function: request-approval (escalations waiting for a decision)', () => {
  const valid = {
    step: 'request-approval',
    stateName: 'Escalate',
    taskId: 'task-1',
    team: 'telecom-support',
    pattern: 'supervisor-worker',
    error: { Error: 'RollbackLimitExceededError', Cause: 'two rollbacks' },
    taskToken: 'AQC-token',
  };

  it('asks for a decision or answers an InvalidEventError; a refused event stores and sends nothing', async () => {
    const malformed = fc.oneof(fc.anything(), mutationOf(valid), mutationOf(valid.error).map((error) => ({ ...valid, error })));
    await fc.assert(
      fc.asyncProperty(malformed, async (event) => {
        const approvals = recorder(undefined);
        const callbacks = recorder({});
        const events = recorder({ FailedEntryCount: 0, Entries: [{ EventId: 'x' }] });
        const deps = { approvals: approvals.fake, callbacks: callbacks.fake, events: events.fake, eventBusName: 'legion', ...telemetryOf('legion-request-approval') } as unknown as RequestApprovalDependencies;
        const outcome = await outcomeOf(() => createRequestApprovalHandler(deps)(event, context));
        if (outcome.ok) return;
        // A valid event reaches the (recording) store, whose answers are not real approvals: only refusals matter here.
        if (approvals.calls.length > 0) return;
        expectClearError(outcome.error, InvalidEventError);
        expect([...callbacks.calls, ...events.calls]).toEqual([]);
      }),
      RUNS,
    );
  });
});

describe('Function: parseTeam / loadTeamFile (team definitions)', () => {
  it('answers any value with a team or a TeamDefinitionError listing the problems', () => {
    fc.assert(
      fc.property(fc.anything(), (value) => {
        try {
          parseTeam(value, 'generated');
        } catch (error) {
          expectClearError(error, TeamDefinitionError);
          expect((error as TeamDefinitionError).problems.length).toBeGreaterThan(0);
        }
      }),
      RUNS,
    );
  });

  it("answers a shipped team with one change anywhere in it with a team or a TeamDefinitionError naming the path", () => {
    const changed = fc.constantFrom(...PATTERN_NAMES.filter((pattern) => pattern !== 'hierarchical')).chain((pattern) => {
      const { subTeamDefinitions: _loaded, ...definition } = asJson(teams[pattern]);
      return fc.tuple(fc.constantFrom(...pathsOf(definition)), fc.option(fc.oneof(fc.jsonValue(), hostileText), { nil: undefined })).map(([path, replacement]) => replaceAt(definition, path, replacement));
    });
    fc.assert(
      fc.property(changed, (definition) => {
        try {
          parseTeam(definition, 'changed.yaml');
        } catch (error) {
          expectClearError(error, TeamDefinitionError);
          expect((error as Error).message).toMatch(/^Invalid team definition changed\.yaml:\n {2}- /);
        }
      }),
      RUNS,
    );
  });

  it('loads any file text into a team or a TeamDefinitionError naming the file', async () => {
    let run = 0;
    const text = fc.oneof(jsonishText, fc.constantFrom('a: &x [*x]', '- - - [', 'name: [unclosed', 'name: x\n\tpattern: y', 'a: *missing'));
    await fc.assert(
      fc.asyncProperty(text, fc.constantFrom('yaml', 'json'), async (content, extension) => {
        const file = join(workDir, `team-${String((run += 1))}.${extension}`);
        await writeFile(file, content);
        const outcome = await outcomeOf(() => loadTeamFile(file));
        if (!outcome.ok) {
          expectClearError(outcome.error, TeamDefinitionError);
          expect((outcome.error as Error).message).toContain(file);
        }
      }),
      FILE_RUNS,
    );
  });
});

describe('Command: legion (child process)', () => {
  it('exits 2 with escaped, named errors for a hostile --input, a bad pattern and an invalid emit Detail', async () => {
    const eventsFile = join(workDir, 'emit-bad-detail.json');
    await writeFile(eventsFile, JSON.stringify({ Source: 'legion', DetailType: 'RunRequested', Detail: 'not json \u001b[2J' }));
    const [input, pattern, emit] = await Promise.all([
      legionProcess(['run', 'supervisor-worker', '--input', '{"request": "\u001b]0;pwned\u0007\u001b[2J" ,,}'], { timeoutMs: 60_000 }),
      legionProcess(['run', 'super\u001b[2Jvisor'], { timeoutMs: 60_000 }),
      legionProcess(['emit', eventsFile], { timeoutMs: 60_000 }),
    ]);
    for (const outcome of [input, pattern, emit]) {
      expect(outcome.status).toBe(2);
      expect(`${outcome.stdout}${outcome.stderr}`).not.toMatch(/[^\P{Cc}\n\t]/u);
      expect(outcome.stderr).not.toMatch(/\n\s+at .+:\d+:\d+/);
    }
    expect(input.stderr).toMatch(/^legion: --input is not valid JSON/);
    expect(pattern.stderr).toContain('super\\u001b[2Jvisor');
    expect(emit.stderr).toContain('Detail: not valid JSON');
  }, 60_000);
});
