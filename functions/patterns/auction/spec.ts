/**
 * The auction pattern (Contract Net): the state machine announces the task on the Legion event
 * bus, the team's bidders answer with bids, a collector stores them, and after the bidding window
 * the auction closes: the best valid bid (auction-rules.ts) is awarded, the winner runs the task,
 * the verifier checks its result, and a failed winner hands the task to the runner-up. Rounds
 * without a valid bid are re-announced with a wider window, then escalated.
 */
import { CONTROL_FUNCTIONS } from '../../core/contract.ts';
import { AuctionInputSchema } from './contract.ts';
import { TeamDefinitionError } from '../../core/errors.ts';
import { type PatternSpec, commonSubstitutions } from '../../core/pattern-spec.ts';
import { packageFile } from '../../core/package-files.ts';
import { type AgentDefinition, type TeamDefinition, agentsWithRole, verifierOf } from '../../core/team-schema.ts';

/**
 * The bidders of an auction team, in definition order.
 *
 * @example
 * ```ts
 * biddersOf(team).map((bidder) => bidder.id); // ['lexi', 'polly', 'quill', 'atlas']
 * ```
 */
export function biddersOf(team: TeamDefinition): AgentDefinition[] {
  return agentsWithRole(team, 'bidder');
}

export const auctionPattern: PatternSpec = {
  name: 'auction',
  summary: 'The task is announced on the event bus; bidders bid; the best valid bid wins, its result is verified, and a failed winner hands over to the runner-up.',
  aslFile: packageFile('statemachines/auction.asl.json'),
  exampleTeamFile: packageFile('teams/marketplace.yaml'),
  inputSchema: AuctionInputSchema,
  substitutions: (team, functionArnOf) => {
    if (!functionArnOf.eventBusName) throw new TeamDefinitionError(team.name, ['an auction team needs the Legion event bus (no eventBusName given)']);
    return {
      ...commonSubstitutions(team, functionArnOf),
      OpenAuctionFunctionArn: functionArnOf.control('open-auction'),
      CloseAuctionFunctionArn: functionArnOf.control('close-auction'),
      SettleAwardFunctionArn: functionArnOf.control('settle-award'),
      EventBusName: functionArnOf.eventBusName,
      // Comma-separated (ids and ARNs hold no commas), split by States.StringSplit.
      BidderIds: biddersOf(team)
        .map((bidder) => bidder.id)
        .join(','),
      BidderFunctionArns: biddersOf(team)
        .map((bidder) => functionArnOf.agent(bidder.id))
        .join(','),
      VerifierFunctionArn: functionArnOf.agent(verifierOf(team).id),
      BidWindowSeconds: String(team.limits.bidWindowSeconds),
      MaxAuctionRounds: String(team.limits.maxAuctionRounds),
      MaxAwards: String(team.limits.maxAwards),
    };
  },
  controlFunctions: CONTROL_FUNCTIONS,
  aslRules: {
    // Enums of the control functions' and the verifier's schema-validated results.
    allowedChoiceVariables: ['$.opened.status', '$.close.outcome', '$.verification.verdict'],
    // The award's ARN is looked up by close-auction / settle-award in the deployed bidder list, never taken from a bid.
    allowedFunctionNamePaths: ['$.award.functionArn'],
  },
};
