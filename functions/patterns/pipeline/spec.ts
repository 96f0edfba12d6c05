/**
 * The pipeline pattern: stages run in order, a validation gate after each decides pass, retry or
 * fail, every stage attempt and every gate decision is a checkpoint, and a resumed run continues
 * at the first stage not yet passed.
 */
import { PipelineInputSchema } from './contract.ts';
import { type PatternSpec, commonSubstitutions, detectionSubstitutions } from '../../core/pattern-spec.ts';
import { packageFile } from '../../core/package-files.ts';
import { type AgentDefinition, type TeamDefinition, agentsWithRole, verifierOf } from '../../core/team-schema.ts';
import { DETECTING_CONTROL_FUNCTIONS } from '../../core/contract.ts';
import { rankOf } from '../../guards/loop-detector.ts';

/**
 * The stages of a pipeline team, in definition order (the order they run in).
 *
 * @example
 * ```ts
 * stagesOf(team).map((stage) => stage.id); // ['researcher', 'writer', 'editor', 'publisher']
 * ```
 */
export function stagesOf(team: TeamDefinition): AgentDefinition[] {
  return agentsWithRole(team, 'stage');
}

export const pipelinePattern: PatternSpec = {
  name: 'pipeline',
  summary: 'Stages run in order; a validation gate after each passes, retries or fails it; resume starts at the first stage not yet passed.',
  aslFile: packageFile('statemachines/pipeline.asl.json'),
  exampleTeamFile: packageFile('teams/content-pipeline.yaml'),
  inputSchema: PipelineInputSchema,
  substitutions: (team, functionArnOf) => ({
    ...commonSubstitutions(team, functionArnOf),
    ...detectionSubstitutions(functionArnOf),
    // Comma-separated lists (agent ids and ARNs hold no commas), split by States.StringSplit: no
    // JSON inside an intrinsic's string literal, hence nothing to escape.
    StageAgentIds: stagesOf(team)
      .map((stage) => stage.id)
      .join(','),
    StageFunctionArns: stagesOf(team)
      .map((stage) => functionArnOf.agent(stage.id))
      .join(','),
    VerifierFunctionArn: functionArnOf.agent(verifierOf(team).id),
    StageRanks: stagesOf(team)
      .map((stage) => String(rankOf(stage)))
      .join(','),
    MaxStageAttempts: String(team.limits.maxStageAttempts),
    MaxHandBacks: String(team.limits.maxHandBacks),
  }),
  controlFunctions: DETECTING_CONTROL_FUNCTIONS,
  aslRules: {
    // The gate's enum, and the loop counters the ASL keeps itself.
    allowedChoiceVariables: [
      '$.gate.verdict',
      '$.loopCheck.verdict',
      '$.stage.handBack',
      '$.loop.cursor.index',
      '$.loop.cursor.attempt',
      '$.loop.handBacks',
      '$.pipeline.count',
      '$.limits.maxStageAttempts',
      '$.limits.maxHandBacks',
      // The input's facts (validated by PipelineInputSchema) and the verifier's verdict and detection (schema-validated).
      '$.input.facts',
      '$.claims.hallucination',
      '$.claims.detection.action',
    ],
    // SelectStage copies the ARN from the deployed stage list (a substitution), never from model output.
    allowedFunctionNamePaths: ['$.current.functionArn'],
  },
};
