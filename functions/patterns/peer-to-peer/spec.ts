/**
 * The peer-to-peer pattern: equal peers propose and critique in rounds until a quorum backs one
 * proposal or the round limit is hit; the verifier tallies (arithmetic only) and verifies the
 * answer's claims before it is returned. A quorum-strength agreement on claims that failed
 * verification (hallucinated consensus) is recorded as a detection (record-detection), then the
 * answer is flagged or, for a high-impact task, escalated to a human.
 */
import { PeerToPeerInputSchema } from './contract.ts';
import { type PatternSpec, commonSubstitutions, detectionSubstitutions } from '../../core/pattern-spec.ts';
import { packageFile } from '../../core/package-files.ts';
import { agentsWithRole, verifierOf } from '../../core/team-schema.ts';
import { rankOf } from '../../guards/loop-detector.ts';
import { DETECTING_CONTROL_FUNCTIONS } from '../../core/contract.ts';

export const peerToPeerPattern: PatternSpec = {
  name: 'peer-to-peer',
  summary: 'Equal peers propose and critique in rounds until a quorum agrees or the round limit ends it; the answer is verified before it is returned.',
  aslFile: packageFile('statemachines/peer-to-peer.asl.json'),
  exampleTeamFile: packageFile('teams/peer-review.yaml'),
  inputSchema: PeerToPeerInputSchema,
  substitutions: (team, functionArnOf) => {
    const peers = agentsWithRole(team, 'peer');
    return {
      ...commonSubstitutions(team, functionArnOf),
      ...detectionSubstitutions(functionArnOf),
      // Comma-separated, split by States.StringSplit: agent ids and ARNs hold no comma, quote or
      // brace, so the values need no escaping inside an intrinsic's string literal (JSON text would).
      PeerIds: peers.map((peer) => peer.id).join(','),
      PeerFunctionArns: peers.map((peer) => functionArnOf.agent(peer.id)).join(','),
      PeerRanks: peers.map((peer) => String(rankOf(peer))).join(','),
      VerifierFunctionArn: functionArnOf.agent(verifierOf(team).id),
      MaxRounds: String(team.limits.maxRounds),
      Quorum: String(team.limits.quorum),
    };
  },
  controlFunctions: DETECTING_CONTROL_FUNCTIONS,
  aslRules: {
    allowedChoiceVariables: [
      '$.negotiation.tally.outcome',
      '$.negotiation.round',
      '$.limits.maxRounds',
      '$.proposalCheck.inconsistent',
      '$.critiqueCheck.inconsistent',
      // The verifier's verdict and the action of its detection (schema-validated).
      '$.verification.hallucination',
      '$.verification.detection.action',
      // The tally's loop check: the conflict rule's pick (a peer id from the team) or null.
      '$.negotiation.tally.loop.ruling',
    ],
    // Each Map item pairs a peer id with its ARN from the PeerFunctionArns substitution.
    allowedFunctionNamePaths: ['$.peer.functionArn'],
  },
};
