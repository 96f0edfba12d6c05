/**
 * `--inject <fault>` for the local runtime, to show recovery by hand and to test it:
 * - `crash:<StateName>` makes the process die abruptly (SIGKILL, no clean-up) as that state starts;
 * - `inconsistent:<StateName>[:N]` makes the scripted model break the step's contract in that state
 *   N times (default 1), which the state machine answers with an automatic rollback;
 * - `fail:<StateName>[:N]` makes the scripted model's calls in that state fail N times (default 1),
 *   as a model outage or a crashing agent would (auction: `fail:RunWinner` fails the winner, and
 *   the runner-up is awarded);
 * - auction only: `late-bid:<bidder>` hands that bidder the announcement after its deadline, and
 *   `duplicate-bid:<bidder>` puts its bid on the bus twice (EventBridge delivers at least once).
 * - the failure modes, each reproduced on purpose: `loop` (pipeline: writer and editor hand a
 *   draft back and forth until the conflict rule ends it, `loop:stubborn`: the writer ignores the
 *   ruling too, and the run escalates; peer-to-peer: every peer keeps backing its own proposal
 *   until the conflict rule takes the highest-ranked peer's), `hallucination` (pipeline and peer-to-peer: a
 *   fabricated market statistic the other stages or peers build on), `deadlock` (supervisor-worker
 *   and peer-to-peer: two agents lease a database lock and a verification key in opposite orders).
 * - `checkpoint-failures:<rate>`: that fraction of the agents' checkpoint writes (0 < rate <= 1) fail
 *   as a throttled DynamoDB table makes them fail; the steps are retried by the state machine, and
 *   the CheckpointFailureRate alarm can be driven with it (local/checkpoint-faults.ts).
 * All but `crash` are scripted shortcuts, not model or bus behaviour. The option repeats, so a
 * crash can be injected in the middle of a recovery.
 */
import { readFileSync } from 'node:fs';
import { UsageError } from '../../functions/core/errors.ts';
import type { ScriptedFault, ScriptedScenario } from '../../functions/models/scripted-model.ts';
import { PATTERNS } from '../../functions/patterns/index.ts';
import type { PatternName } from '../../functions/core/contract.ts';
import { type TeamDefinition, agentsWithRole } from '../../functions/core/team-schema.ts';
import type { AuctionFaults } from '../../local/local-auction.ts';
import type { CheckpointFaults } from '../../local/checkpoint-faults.ts';
import { allStates } from '../../local/asl.ts';
import { hallucinationScenario } from '../../local/scenarios/hallucination.ts';
import { loopScenario } from '../../local/scenarios/loop.ts';
import { deadlockInjection } from '../../local/scenarios/deadlock.ts';
import type { LeasingRunOptions } from '../../local/local-runtime.ts';

export interface Injection {
  onStateEntered?: (stateName: string) => void;
  /** Faults for the scripted model. */
  modelFaults?: ScriptedFault[];
  /** auction: late and duplicated bids. */
  auctionFaults?: AuctionFaults;
  /** Failure modes the scripted model plays (loop, hallucination). */
  scenarios?: ScriptedScenario[];
  /** deadlock: the team to run instead (two agents leasing the same resources in opposite orders; its example reaches both). */
  team?: TeamDefinition;
  /** deadlock: how the run's resource pool behaves (a hold between leases, so the deadlock forms every time). */
  runOptions?: LeasingRunOptions;
  /** checkpoint-failures: the fraction of checkpoint writes that fail as throttled. */
  checkpointFaults?: CheckpointFaults;
}

const FORMS = 'crash:<StateName>, inconsistent:<StateName>[:N], fail:<StateName>[:N], late-bid:<bidder>, duplicate-bid:<bidder>, loop[:stubborn], hallucination, deadlock or checkpoint-failures:<rate>';

/** The failure modes `--inject` reproduces, and the patterns each applies to offline. */
interface FailureMode {
  patterns: readonly PatternName[];
  /** The values it takes after a colon (`loop:stubborn`). */
  variants: readonly string[];
  scenario: (team: TeamDefinition, variant?: string) => ScriptedScenario;
}

const FAILURE_MODES: Record<string, FailureMode> = {
  loop: { patterns: ['pipeline', 'peer-to-peer'], variants: ['stubborn'], scenario: (team, variant) => loopScenario(team, { stubborn: variant === 'stubborn' }) },
  hallucination: { patterns: ['pipeline', 'peer-to-peer'], variants: [], scenario: (team) => hallucinationScenario(team) },
};

/** Parses an `--inject` value for a team, checking the state exists in its pattern's ASL (or the bidder in the team). */
export function parseInjection(value: string, pattern: PatternName, team?: TeamDefinition): Injection {
  if (value === 'deadlock') return deadlockOf(pattern, team);
  if (value === 'checkpoint-failures' || value.startsWith('checkpoint-failures:')) return checkpointFailures(value);
  const [mode, variant, ...rest] = value.split(':');
  if (mode !== undefined && Object.hasOwn(FAILURE_MODES, mode)) return failureModeInjection(mode, variant, rest.length, pattern, team);
  const match = /^(crash|inconsistent|fail|late-bid|duplicate-bid):([^:]+)(?::(.*))?$/.exec(value);
  if (!match?.[1] || !match[2]) throw new UsageError(`--inject must be ${FORMS}, got "${value}"`);
  const [, kind, target, count] = match;
  if (kind === 'late-bid' || kind === 'duplicate-bid') return bidFault(kind, target, count, pattern, team);
  requireState(pattern, `${kind}:${target}`, target);
  if (kind === 'crash') {
    if (count !== undefined) throw new UsageError(`--inject crash:${target} takes no count`);
    return { onStateEntered: crashAt(target) };
  }
  const times = count === undefined ? 1 : Number(count);
  if (!Number.isInteger(times) || times < 1) throw new UsageError(`--inject ${value}: the count must be a positive integer`);
  return { modelFaults: [{ kind: kind === 'fail' ? 'fail' : 'off-contract', stateName: target, times }] };
}

/** Parses every `--inject` value given (the option repeats) into one injection. */
export function parseInjections(values: readonly string[], pattern: PatternName, team?: TeamDefinition): Injection {
  const parsed = values.map((value) => parseInjection(value, pattern, team));
  const crashes = parsed.flatMap((injection) => (injection.onStateEntered ? [injection.onStateEntered] : []));
  if (crashes.length > 1) throw new UsageError('--inject crash:<StateName> may be given once');
  const modelFaults = parsed.flatMap((injection) => injection.modelFaults ?? []);
  const lateBidders = parsed.flatMap((injection) => injection.auctionFaults?.lateBidders ?? []);
  const duplicateBidders = parsed.flatMap((injection) => injection.auctionFaults?.duplicateBidders ?? []);
  const scenarios = parsed.flatMap((injection) => injection.scenarios ?? []);
  const deadlock = parsed.find((injection) => injection.team);
  if (parsed.filter((injection) => injection.team).length > 1) throw new UsageError('--inject deadlock may be given once');
  const checkpointFaults = parsed.filter((injection) => injection.checkpointFaults);
  if (checkpointFaults.length > 1) throw new UsageError('--inject checkpoint-failures:<rate> may be given once');
  return {
    ...(deadlock?.team ? { team: deadlock.team } : {}),
    ...(deadlock?.runOptions ? { runOptions: deadlock.runOptions } : {}),
    ...(scenarios.length > 0 ? { scenarios } : {}),
    ...(crashes[0] ? { onStateEntered: crashes[0] } : {}),
    ...(modelFaults.length > 0 ? { modelFaults } : {}),
    ...(lateBidders.length + duplicateBidders.length > 0 ? { auctionFaults: { lateBidders, duplicateBidders } } : {}),
    ...(checkpointFaults[0]?.checkpointFaults ? { checkpointFaults: checkpointFaults[0].checkpointFaults } : {}),
  };
}

/** `checkpoint-failures:<rate>`: a decimal fraction above 0 and at most 1 (0.2: one write in five fails). */
function checkpointFailures(value: string): Injection {
  const rate = value.slice('checkpoint-failures:'.length);
  if (!value.includes(':') || rate === '') throw new UsageError('--inject checkpoint-failures needs a rate: checkpoint-failures:<rate>, e.g. checkpoint-failures:0.2');
  const failureRate = /^(?:\d+(?:\.\d*)?|\.\d+)$/.test(rate) ? Number(rate) : Number.NaN;
  if (!(failureRate > 0 && failureRate <= 1)) {
    throw new UsageError(`--inject ${value}: the rate must be a fraction above 0 and at most 1 (e.g. 0.2: one checkpoint write in five fails), got "${rate}"`);
  }
  return { checkpointFaults: { failureRate } };
}

function deadlockOf(pattern: PatternName, team?: TeamDefinition): Injection {
  if (pattern !== 'supervisor-worker' && pattern !== 'peer-to-peer') throw new UsageError(`--inject deadlock: reproduced offline in supervisor-worker and peer-to-peer, not in ${pattern}`);
  if (!team) throw new UsageError('--inject deadlock needs the team it plays against');
  const injection = deadlockInjection(team);
  return { team: injection.input ? { ...injection.team, example: injection.input } : injection.team, runOptions: injection.run };
}

function failureModeInjection(mode: string, variant: string | undefined, extra: number, pattern: PatternName, team?: TeamDefinition): Injection {
  const failureMode = Object.hasOwn(FAILURE_MODES, mode) ? FAILURE_MODES[mode] : undefined;
  if (!failureMode) throw new UsageError(`--inject must be ${FORMS}, got "${mode}"`);
  const { variants } = failureMode;
  if (extra > 0 || (variant !== undefined && !variants.includes(variant))) {
    throw new UsageError(`--inject ${mode} takes ${variants.length > 0 ? `no value or :${variants.join(' | :')}` : 'no value'}`);
  }
  if (!failureMode.patterns.includes(pattern)) {
    throw new UsageError(`--inject ${mode}: reproduced offline in ${failureMode.patterns.join(', ')}, not in ${pattern}`);
  }
  if (!team) throw new UsageError(`--inject ${mode} needs the team it plays against`);
  return { scenarios: [failureMode.scenario(team, variant)] };
}

function bidFault(kind: 'late-bid' | 'duplicate-bid', bidder: string, count: string | undefined, pattern: PatternName, team?: TeamDefinition): Injection {
  if (pattern !== 'auction') throw new UsageError(`--inject ${kind}:${bidder}: only the auction pattern has bids`);
  if (count !== undefined) throw new UsageError(`--inject ${kind}:${bidder} takes no count`);
  const bidders = team ? agentsWithRole(team, 'bidder').map((agent) => agent.id) : [];
  if (team && !bidders.includes(bidder)) throw new UsageError(`--inject ${kind}:${bidder}: team ${team.name} has no bidder "${bidder}" (bidders: ${bidders.join(', ')})`);
  return { auctionFaults: kind === 'late-bid' ? { lateBidders: [bidder], duplicateBidders: [] } : { lateBidders: [], duplicateBidders: [bidder] } };
}

function requireState(pattern: PatternName, fault: string, target: string): void {
  const definition = JSON.parse(readFileSync(PATTERNS[pattern].aslFile, 'utf8')) as Parameters<typeof allStates>[0];
  const names = [...allStates(definition)].map(([name]) => name);
  if (!names.includes(target)) {
    throw new UsageError(`--inject ${fault}: ${pattern} has no state "${target}" (states: ${names.join(', ')})`);
  }
}

function crashAt(target: string): (stateName: string) => void {
  return (stateName) => {
    if (stateName !== target) return;
    process.stderr.write(`\nInjected crash: killing this process as ${stateName} starts.\n`);
    process.kill(process.pid, 'SIGKILL');
  };
}
