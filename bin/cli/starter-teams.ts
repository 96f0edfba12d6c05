/**
 * The starter team definition of each pattern that `legion new` writes: the fewest agents the
 * pattern needs, every field commented, an example input, and nothing that needs files it does not
 * write (tools, handlers). Each one validates and runs offline as written (a test runs them all).
 *
 * @example
 * ```ts
 * const yaml = starterTeam('pipeline', 'blog-posts', '../schema/team-definition.schema.json');
 * ```
 */
import type { PatternName } from '../../functions/core/contract.ts';

const AGENT_FIELDS = `    # description: what the agent does, shown to the agents that route work to it.
    # capabilities: its topics; supervisors and the scripted model route by them.
    # systemPrompt: up to 50,000 characters. modelTier: fast | balanced | deep (default fast).
    # tokenBudget (default 4000), timeoutSeconds (default 30), memoryMb (default 512) are optional.`;

const STARTERS: Record<PatternName, (name: string) => string> = {
  'supervisor-worker': (name) => `# A supervisor-worker team: the supervisor routes each request to the workers it needs, they
# answer in parallel, and the supervisor merges their answers into one reply.
name: ${name}
pattern: supervisor-worker
description: Answers customer requests with a supervisor and two specialists.
# What the supervisor answers when no worker fits the request.
fallbackAnswer: Sorry, I could not tell what you need. Is it about your bill or about a device?
limits:
  maxParallelWorkers: 2         # workers that run at once; default 10
agents:
  - id: supervisor
    role: supervisor            # exactly one
${AGENT_FIELDS}
    description: Routes requests to the specialists and writes the reply.
    capabilities: [routing]
    systemPrompt: You route customer requests to specialists and merge their answers into one friendly reply.
    modelTier: balanced
  - id: billing
    role: worker                # one or more
    description: Bills, charges, payments and refunds.
    capabilities: [bill, charge, payment, refund]
    systemPrompt: You are a billing specialist. Explain charges precisely and say what happens next.
  - id: devices
    role: worker
    description: Phones, routers and other devices.
    capabilities: [phone, router, device, wifi]
    systemPrompt: You are a device specialist. Diagnose step by step and give one clear fix.
# The input \`legion run\` uses when none is given: { request, conversation? }.
example:
  request: I was charged twice this month and my router keeps restarting.
`,
  pipeline: (name) => `# A pipeline team: the stages run in the order listed, each on the output of the one before;
# the verifier checks every stage output (length, the brief's key terms, no placeholder text) before
# the next stage may start, and checks statistics against the input's facts at the end.
name: ${name}
pattern: pipeline
description: Turns a brief into a short article, researcher to writer, with a quality gate after each stage.
limits:
  maxStageAttempts: 2           # attempts of a stage the gate rejects; default 2
agents:
  - id: researcher
    role: stage                 # one or more, in order
${AGENT_FIELDS}
    description: Gathers the facts and angles an article on the brief needs.
    capabilities: [research]
    systemPrompt: You research a brief and list the facts and angles a writer needs.
  - id: writer
    role: stage
    description: Writes the article from the research.
    capabilities: [writing]
    systemPrompt: You write a clear, short article from the research you are given.
  - id: verifier
    role: verifier              # exactly one; deterministic checks, no model call
    description: Checks every stage output before the next stage may start.
    capabilities: [verification]
    systemPrompt: Check each stage output against the brief.
# The input: { brief, facts? }; facts are the source of truth statistics are checked against.
example:
  brief: Why teams of AI agents need checkpoints and automatic recovery
  facts:
    standardWorkflowMaxDurationDays: 365
`,
  'peer-to-peer': (name) => `# A peer-to-peer team: equal peers propose and critique in rounds until a quorum backs one
# proposal; no supervisor decides. The verifier counts the backing and checks the agreed answer's
# claims against the input's facts.
name: ${name}
pattern: peer-to-peer
description: Three reviewers negotiate a verdict on a design question.
limits:
  maxRounds: 3                  # rounds before the best-backed proposal is taken; default 3
  quorum: 0.66                  # share of peers that must back one proposal; default 2/3
agents:
  - id: security-reviewer
    role: peer                  # three or more
${AGENT_FIELDS}
    description: Reviews designs for data exposure and access control.
    rank: 2                     # breaks a loop: the conflict rule takes the highest rank's proposal
    capabilities: [dataClassification, security]
    systemPrompt: You review designs for security. Argue from the facts you are given and cite them.
  - id: performance-reviewer
    role: peer
    description: Reviews designs for latency and load.
    capabilities: [readsPerSecond, performance]
    systemPrompt: You review designs for performance. Argue from the facts you are given and cite them.
  - id: maintainability-reviewer
    role: peer
    description: Reviews designs for operability and cost of ownership.
    capabilities: [onCallEngineers, maintainability]
    systemPrompt: You review designs for maintainability. Argue from the facts you are given and cite them.
  - id: verifier
    role: verifier              # exactly one; counts and checks, no model call
    description: Counts the backing and checks the agreed answer against the facts.
    capabilities: [verification]
    systemPrompt: Check the agreed answer's claims against the facts.
# The input: { question, context?, facts }; the peers cite the facts, the verifier checks them.
example:
  question: Should the checkout service cache prices in front of its database?
  facts:
    readsPerSecond: 1200
    dataClassification: internal
    onCallEngineers: 4
`,
  hierarchical: (name) => `# A hierarchical team: its lead splits the goal into sub-goals, one per sub-team, runs each
# sub-team as a nested execution of its own state machine, reviews the results, and rolls them up.
# The sub-teams here are two of Legion's example teams (market-research and technical-research,
# found next to this file or among Legion's own teams); name your own team files instead.
name: ${name}
pattern: hierarchical
description: A research lead that splits a question between a market team and a technical team.
limits:
  maxDepth: 2                   # nesting of teams; default 2
  maxFanOut: 2                  # sub-goals per plan; default 4
subTeams:
  - id: market                  # how the lead names it
    team: market-research       # the sub-team's own team definition (<team>.yaml)
    description: Markets, competitors, pricing and customers.
    capabilities: [market, competitors, pricing]
  - id: technical
    team: technical-research
    description: Architecture, feasibility and running cost.
    capabilities: [architecture, feasibility, cost]
agents:
  - id: lead
    role: lead                  # exactly one
${AGENT_FIELDS}
    description: Splits the goal between the sub-teams and merges their findings.
    capabilities: [planning, synthesis]
    systemPrompt: You lead a research department. Split the goal between your teams and merge their findings.
    modelTier: deep
# The input: { request }.
example:
  request: Should we offer a serverless AI agent platform to mid-sized companies?
`,
  auction: (name) => `# An auction team: each task is announced; every bidder with a required capability and spare
# capacity bids (capability, price, time); the best valid bid wins, the winner runs the task and the
# verifier checks its result. If the winner fails, the runner-up is awarded.
name: ${name}
pattern: auction
description: Two specialists bid for each task; the best valid bid wins it.
limits:
  bidWindowSeconds: 2           # seconds bidders have to answer; default 30
agents:
  - id: translator
    role: bidder                # two or more
${AGENT_FIELDS}
    description: Translates and adapts text for a market.
    capabilities: [translation, localisation]
    capacity: 2                 # awarded tasks it holds at once; default 1
    systemPrompt: >-
      You translate. Start each part of your answer with the capability it covers, e.g. "translation: ...".
  - id: writer
    role: bidder
    description: Writes and edits product copy.
    capabilities: [copywriting, translation]
    systemPrompt: >-
      You write copy. Start each part of your answer with the capability it covers, e.g. "copywriting: ...".
  - id: verifier
    role: verifier              # exactly one; deterministic checks, no model call
    description: Checks that the result covers every required capability.
    capabilities: [verification]
    systemPrompt: Check that the result covers every required capability.
# The input: { task, requiredCapabilities }.
example:
  task: Translate the release notes of version 2.4 for our customers in Germany.
  requiredCapabilities: [translation]
`,
};

/** The starter definition of a pattern, named `name`, pointing editors at the JSON Schema at `schemaPath`. */
export function starterTeam(pattern: PatternName, name: string, schemaPath: string): string {
  return `# yaml-language-server: $schema=${schemaPath}\n${STARTERS[pattern](name)}`;
}
