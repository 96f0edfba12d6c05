/**
 * The peer-to-peer pattern: equal peers propose and critique in rounds until a quorum backs one
 * proposal or the round limit is hit; the verifier tallies (arithmetic only) and verifies the
 * answer's claims before it is returned.
 */
import { PeerToPeerInputSchema } from '../contracts/peer-to-peer.ts';
import { type PatternSpec, commonSubstitutions, repoFile } from '../pattern-spec.ts';
import { agentsWithRole, verifierOf } from '../team-schema.ts';
import { COMMON_CONTROL_FUNCTIONS } from '../contract.ts';

export const peerToPeerPattern: PatternSpec = {
  name: 'peer-to-peer',
  summary: 'Equal peers propose and critique in rounds until a quorum agrees or the round limit ends it; the answer is verified before it is returned.',
  aslFile: repoFile('statemachines/peer-to-peer.asl.json'),
  exampleTeamFile: repoFile('teams/peer-review.yaml'),
  inputSchema: PeerToPeerInputSchema,
  substitutions: (team, functionArnOf) => {
    const peers = agentsWithRole(team, 'peer');
    return {
      ...commonSubstitutions(team, functionArnOf),
      // Comma-separated, split by States.StringSplit: agent ids and ARNs hold no comma, quote or
      // brace, so the values need no escaping inside an intrinsic's string literal (JSON text would).
      PeerIds: peers.map((peer) => peer.id).join(','),
      PeerFunctionArns: peers.map((peer) => functionArnOf.agent(peer.id)).join(','),
      VerifierFunctionArn: functionArnOf.agent(verifierOf(team).id),
      MaxRounds: String(team.limits.maxRounds),
      Quorum: String(team.limits.quorum),
    };
  },
  controlFunctions: COMMON_CONTROL_FUNCTIONS,
  aslRules: {
    allowedChoiceVariables: ['$.negotiation.tally.outcome', '$.negotiation.round', '$.limits.maxRounds', '$.proposalCheck.inconsistent', '$.critiqueCheck.inconsistent'],
    // Each Map item pairs a peer id with its ARN from the PeerFunctionArns substitution.
    allowedFunctionNamePaths: ['$.peer.functionArn'],
  },
};
