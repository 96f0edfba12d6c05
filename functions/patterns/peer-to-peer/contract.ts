/**
 * The contract of the `peer-to-peer` pattern: its execution input, and the events and results of
 * its four steps (peers `propose` and `critique`; the verifier `tally`s and `verify`s). The state
 * machine's Choices read only `TallySchema.outcome`, an enum the deterministic tally computes,
 * `VerificationSchema.hallucination`, a boolean the deterministic verifier computes, and the
 * input's `highImpact`.
 *
 * @example
 * ```ts
 * const input = PeerToPeerInputSchema.parse({ question: 'Cache prices in Redis?', facts: { readsPerSecond: 1200 } });
 * const tally = TallySchema.parse(payload); // tally.outcome: 'agreed' | 'continue' | 'exhausted' | 'unreachable'
 * ```
 */
import { z } from 'zod';
import { TokenUsageSchema } from '../../core/agent-contract.ts';
import { DetectionSchema } from '../../core/contracts/detections.ts';
import { CalibratedConfidenceSchema } from '../../guards/calibrated-confidence.ts';
import { CHECK_STATUSES, ClaimCheckSchema, FactNameSchema, FactValueSchema, FactsSchema } from '../../guards/fact-check.ts';
import { DegradedPartSchema } from '../../core/contracts/degraded.ts';

// A fact of the input is the source of truth the verifier checks the claims of a proposal against;
// facts and claim checks are shared with every pattern (fact-check.ts).
export { CHECK_STATUSES, ClaimCheckSchema, FactValueSchema };
export type { ClaimCheck, FactValue } from '../../guards/fact-check.ts';

const factName = FactNameSchema;

/** Input of a peer-to-peer run: what to decide, optional background, and the facts given. */
export const PeerToPeerInputSchema = z.looseObject({
  question: z.string().trim().min(1, 'must not be empty').max(4000),
  /** Background the peers read; not checked by the verifier. */
  context: z.string().max(8000).optional(),
  /** Named facts; a proposal's claims cite them and the verifier checks each claim against them. */
  facts: FactsSchema.default({}),
  /** A high-impact task goes to a human when its answer is a hallucinated consensus; otherwise the answer is returned flagged. */
  highImpact: z.boolean().default(false),
});
export type PeerToPeerInput = z.infer<typeof PeerToPeerInputSchema>;

/** A claim a proposal rests on: "fact `fact` has value `value`". */
export const ClaimSchema = z.object({ fact: factName, value: FactValueSchema });
export type Claim = z.infer<typeof ClaimSchema>;

const agentId = z.string().min(1).max(40);
const round = z.number().int().min(1);

/** A peer of the negotiation: its id and its function (from deployment config, never from model text). */
export const PeerRefSchema = z.object({ agentId, functionArn: z.string().min(1) });

/** A peer's proposal in one round. `addresses`: the critics (of the previous round) whose concerns it answers. */
export const ProposalSchema = z.object({
  agentId,
  round,
  status: z.literal('PROPOSED'),
  proposal: z.string().min(1).max(4000),
  claims: z.array(ClaimSchema).max(20),
  addresses: z.array(agentId),
  usage: TokenUsageSchema.optional(),
});
export type Proposal = z.infer<typeof ProposalSchema>;

/** What the ASL records for a peer whose step failed after its retries: it sits the round out. */
const failedEntry = { agentId, round, status: z.literal('FAILED'), error: z.string() };

export const RoundProposalSchema = z.discriminatedUnion('status', [ProposalSchema, z.object(failedEntry)]);
export type RoundProposal = z.infer<typeof RoundProposalSchema>;

export const ConcernSchema = z.object({ target: agentId, concern: z.string().min(1).max(1000) });

/** A peer's critique in one round: the proposal it backs (`null`: it abstains) and its concerns about others. */
export const CritiqueSchema = z.object({
  agentId,
  round,
  status: z.literal('CRITIQUED'),
  supports: agentId.nullable(),
  critiques: z.array(ConcernSchema),
  usage: TokenUsageSchema.optional(),
});
export type Critique = z.infer<typeof CritiqueSchema>;

export const RoundCritiqueSchema = z.discriminatedUnion('status', [CritiqueSchema, z.object(failedEntry)]);
export type RoundCritique = z.infer<typeof RoundCritiqueSchema>;

/** The best-supported proposal of a round. */
export const BestProposalSchema = z.object({ agentId, proposal: z.string().min(1), claims: z.array(ClaimSchema) });

/** How the peers backed the proposals of a round. */
export const SupportSchema = z.object({
  /** Peers backing the best proposal, in peer definition order. */
  backers: z.array(agentId),
  count: z.number().int().nonnegative(),
  /** Peers of the team: the quorum's denominator (a failed peer counts as not backing). */
  of: z.number().int().positive(),
  /** Backers needed for agreement: ceil(quorum × of). */
  required: z.number().int().positive(),
  /** Backers of each proposal, by proposer. */
  byProposal: z.record(z.string(), z.number().int().nonnegative()),
});
export type Support = z.infer<typeof SupportSchema>;

/**
 * `agreed`: a quorum backs `best`. `continue`: no quorum, rounds left. `exhausted`: no quorum in
 * the last round (`best` is returned, not agreed). `unreachable`: fewer peers answered than the
 * quorum needs, or nobody proposed anything: the run fails. `looping`: no quorum, and the peers'
 * positions repeat the last round's or flip back to the one before (see `loop`).
 */
export const TALLY_OUTCOMES = ['agreed', 'continue', 'exhausted', 'unreachable', 'looping'] as const;
export type TallyOutcome = (typeof TALLY_OUTCOMES)[number];

/**
 * A negotiation going round in circles, and what the conflict rule decided: `ruling` is the peer
 * ranked above all others whose proposal is taken (`best`), or null when the top rank is shared
 * (the run escalates).
 */
export const NegotiationLoopSchema = z.object({
  kind: z.enum(['repetition', 'oscillation']),
  ruling: agentId.nullable(),
  detection: DetectionSchema,
});
export type NegotiationLoop = z.infer<typeof NegotiationLoopSchema>;

export const TallySchema = z.object({
  round,
  outcome: z.enum(TALLY_OUTCOMES),
  agreed: z.boolean(),
  best: BestProposalSchema.nullable(),
  support: SupportSchema,
  /** Peers whose critique came back this round. */
  answering: z.number().int().nonnegative(),
  /** Every round's positions so far, this one last: per peer (definition order) the proposal it backed ('' for none). */
  positions: z.array(z.string()),
  /** Set when the outcome is `looping`. */
  loop: NegotiationLoopSchema.nullable(),
  /**
   * Peers that sat this round out (their proposal or critique failed after its retries), with the
   * error name: the run's `degraded` when this round concludes. Optional for tallies checkpointed
   * before it existed.
   */
  degraded: z.array(DegradedPartSchema).optional(),
  /** Never set: the tally calls no model (declared so that it is a step result like the others). */
  usage: TokenUsageSchema.optional(),
});
export type Tally = z.infer<typeof TallySchema>;

export const VerificationSchema = z.object({
  verified: z.boolean(),
  /** The proposer whose proposal was checked. */
  checkedProposal: agentId,
  checks: z.array(ClaimCheckSchema),
  reason: z.string().min(1),
  /** Calibrated from the checks alone; `agreement` is the share of peers backing the checked proposal. */
  confidence: CalibratedConfidenceSchema,
  /** A quorum-strength agreement on a proposal whose claims failed verification (`confidence.detection`). */
  hallucination: z.boolean(),
  /** What RecordHallucination records: flagged, or escalated for a high-impact task (null without a hallucination). */
  detection: DetectionSchema.nullable(),
  /** Never set: verification calls no model (declared so that it is a step result like the others). */
  usage: TokenUsageSchema.optional(),
});
export type Verification = z.infer<typeof VerificationSchema>;

const stepBase = {
  taskId: z.string().min(1).max(128),
  stateName: z.string().min(1),
  epoch: z.number().int().positive().optional(),
  /** The round, as text: each round of a state gets its own checkpoint. */
  stepId: z.string().min(1),
};

export const ProposeEventSchema = z.object({
  ...stepBase,
  step: z.literal('propose'),
  round,
  input: PeerToPeerInputSchema,
  peer: PeerRefSchema,
  /** The previous round (empty lists in round 1): what the peer revises against. */
  previous: z.object({ proposals: z.array(RoundProposalSchema), critiques: z.array(RoundCritiqueSchema) }),
});
export type ProposeEvent = z.infer<typeof ProposeEventSchema>;

export const CritiqueEventSchema = z.object({
  ...stepBase,
  step: z.literal('critique'),
  round,
  input: PeerToPeerInputSchema,
  peer: PeerRefSchema,
  proposals: z.array(RoundProposalSchema),
});
export type CritiqueEvent = z.infer<typeof CritiqueEventSchema>;

export const TallyEventSchema = z.object({
  ...stepBase,
  step: z.literal('tally'),
  round,
  maxRounds: z.number().int().min(1),
  quorum: z.number().min(0.5).max(1),
  /** Every peer of the team, in definition order (the tie-break order). */
  peerIds: z.array(agentId).min(1),
  /** Each peer's rank for the conflict rule, in the order of peerIds. */
  ranks: z.array(z.string().regex(/^\d+$/)).min(1),
  /** The positions of the earlier rounds (the last tally's `positions`). */
  positions: z.array(z.string()),
  proposals: z.array(RoundProposalSchema),
  critiques: z.array(RoundCritiqueSchema),
});
export type TallyEvent = z.infer<typeof TallyEventSchema>;

export const VerifyEventSchema = z.object({
  ...stepBase,
  stepId: stepBase.stepId.optional(),
  step: z.literal('verify'),
  input: PeerToPeerInputSchema,
  tally: TallySchema,
});
export type VerifyEvent = z.infer<typeof VerifyEventSchema>;
