/**
 * The pipeline team in the synthesized template: its state machine, the functions it may invoke
 * (exactly the team's agents and the control functions), and the stage list it is filled with.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Stack } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONTROL_FUNCTIONS, DETECTING_CONTROL_FUNCTIONS, ENV } from '../../functions/core/contract.ts';
import { stagesOf } from '../../functions/patterns/pipeline/spec.ts';
import { verifierOf } from '../../functions/core/team-schema.ts';
import { PATTERNS } from '../../functions/patterns/index.ts';
import { type TeamDefinition, loadTeamFile } from '../../functions/core/team.ts';
import { PipelineTeam } from '../../lib/pipeline-team.ts';
import {
  REPO_ROOT,
  type Resource,
  type TemplateJson,
  TELECOM_TEAM_FILE,
  actionsOf,
  buildApp,
  logicalIdOf,
  referencedIds,
  removeTemporaryOutdirs,
  renderIntrinsic,
  resourceList,
  resourcesOf,
  statementsOfRole,
} from './synth.ts';

/** The agent id an agent function is configured with (from its LEGION_AGENT variable). */
function agentIdOf(fn: Resource): string | undefined {
  const variables = (fn.Properties?.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables ?? {};
  const settings = variables[ENV.agent];
  if (settings === undefined) return undefined;
  return (JSON.parse(renderIntrinsic(settings)) as { agent: { id: string } }).agent.id;
}

describe('Class: PipelineTeam (in a LegionStack)', () => {
  let team: TeamDefinition;
  let template: TemplateJson;
  let machine: Resource;
  /** Logical id of each agent's function, by agent id. */
  let functionIdOf: Record<string, string>;
  let controlIds: string[];
  /** Logical ids of the control functions the pipeline's machine calls. */
  let patternControlIds: string[];

  beforeAll(async () => {
    team = await loadTeamFile(`${REPO_ROOT}teams/content-pipeline.yaml`);
    const { app, stack } = buildApp({ teams: [team] });
    template = app.synth().getStackArtifact(stack.artifactId).template as TemplateJson;
    const machines = Object.values(resourcesOf(template, 'AWS::StepFunctions::StateMachine'));
    expect(machines).toHaveLength(1);
    machine = machines[0] as Resource;
    const functions = Object.entries(resourcesOf(template, 'AWS::Lambda::Function'));
    functionIdOf = Object.fromEntries(
      functions.flatMap(([id, fn]): [string, string][] => {
        const agentId = agentIdOf(fn);
        return agentId === undefined ? [] : [[agentId, id]];
      }),
    );
    // The event-trigger functions (construct id Events) are not called by the state machine.
    controlIds = functions.filter(([id, fn]) => agentIdOf(fn) === undefined && !id.startsWith('Events')).map(([id]) => id);
    patternControlIds = PATTERNS.pipeline.controlFunctions.map((name) => logicalIdOf(stack.control.functions[name]));
  });
  afterAll(removeTemporaryOutdirs);

  it('deploys one function per agent: four stages and the verifier', () => {
    expect(Object.keys(functionIdOf).sort()).toEqual(team.agents.map((agent) => agent.id).sort());
    expect(controlIds).toHaveLength(CONTROL_FUNCTIONS.length);
  });

  it('has a STANDARD state machine for the team, logging and tracing', () => {
    expect(machine.Properties).toMatchObject({
      StateMachineType: 'STANDARD',
      LoggingConfiguration: { Level: 'ALL', IncludeExecutionData: false },
      TracingConfiguration: { Enabled: true },
    });
    expect(template.Outputs).toHaveProperty('ContentPipelineStateMachineArn');
  });

  it("may invoke exactly the team functions and its pattern's control functions, and start no other execution", () => {
    const statements = statementsOfRole(template, referencedIds(machine.Properties?.RoleArn)[0] ?? '');
    const invoke = statements.filter((statement) => actionsOf(statement).some((action) => action.startsWith('lambda:')));
    expect(invoke.flatMap(actionsOf).every((action) => action === 'lambda:InvokeFunction')).toBe(true);
    const invoked = new Set(invoke.flatMap((statement) => referencedIds(statement.Resource)));
    // begin-task, rollback-task, request-approval (its Escalate state) and record-detection (RecordLoop).
    expect(PATTERNS.pipeline.controlFunctions).toEqual(DETECTING_CONTROL_FUNCTIONS);
    expect(patternControlIds).toHaveLength(DETECTING_CONTROL_FUNCTIONS.length);
    expect([...invoked].sort()).toEqual([...Object.values(functionIdOf), ...patternControlIds].sort());
    for (const statement of invoke) for (const resource of resourceList(statement)) expect(resource).not.toBe('*');
    expect(statements.flatMap(actionsOf).filter((action) => action.startsWith('states:'))).toEqual([]);
  });

  it('is filled with the stages in definition order and the verifier as the gate', () => {
    const substitutions = machine.Properties?.DefinitionSubstitutions as Record<string, unknown>;
    const rendered = Object.fromEntries(Object.entries(substitutions).map(([name, value]) => [name, renderIntrinsic(value)]));
    const stageIds = stagesOf(team).map((stage) => stage.id);
    expect(stageIds).toEqual(['researcher', 'writer', 'editor', 'publisher']);
    expect(rendered.StageAgentIds).toBe(stageIds.join(','));
    expect(rendered.StageFunctionArns).toBe(stageIds.map((id) => `<${functionIdOf[id] ?? '?'}.Arn>`).join(','));
    expect(rendered.VerifierFunctionArn).toBe(`<${functionIdOf[verifierOf(team).id] ?? '?'}.Arn>`);
    expect(rendered.MaxStageAttempts).toBe(String(team.limits.maxStageAttempts));
  });

  it('passes the cdk-nag AwsSolutions and Serverless packs', () => {
    const outdir = mkdtempSync(join(tmpdir(), 'legion-nag-pipeline-'));
    try {
      const { app } = buildApp({ teams: [team], outdir, plugins: (scope) => [new AwsSolutionsChecks(scope), new ServerlessChecks(scope)] });
      expect(() => app.synth()).not.toThrow();
      const report = JSON.parse(readFileSync(join(outdir, 'validation-report.json'), 'utf8')) as { pluginReports: { violations: { ruleName: string }[] }[] };
      expect(report.pluginReports.flatMap((plugin) => plugin.violations.map((violation) => violation.ruleName))).toEqual([]);
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
  });

  it('refuses a team of another pattern', async () => {
    const telecom = await loadTeamFile(TELECOM_TEAM_FILE);
    const stack = new Stack();
    const table = new dynamodb.Table(stack, 'Table', { partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING } });
    const controlFunctions = {} as Record<(typeof CONTROL_FUNCTIONS)[number], lambda.IFunction>;
    expect(() => new PipelineTeam(stack, 'Wrong', { team: telecom, table, controlFunctions })).toThrow(
      /Team "telecom-support" has pattern "supervisor-worker", not "pipeline"/,
    );
  });
});
