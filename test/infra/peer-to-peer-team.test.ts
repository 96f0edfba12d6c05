/**
 * The peer-to-peer pattern in the synthesized template: the peer-review team's state machine, what
 * it may invoke, and the substitutions that fill its generic ASL file.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { App, Stack } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { DETECTING_CONTROL_FUNCTIONS, ENV } from '../../functions/core/contract.ts';
import { PATTERNS } from '../../functions/patterns/index.ts';
import { type TeamDefinition, loadTeamFile } from '../../functions/core/team.ts';
import type { AgentTeamProps } from '../../lib/agent-team.ts';
import { PeerToPeerTeam } from '../../lib/peer-to-peer-team.ts';
import { type Resource, type TemplateJson, actionsOf, buildApp, logicalIdOf, referencedIds, removeTemporaryOutdirs, renderIntrinsic, resourceList, resourcesOf, statementsOfRole } from './synth.ts';

const PEER_REVIEW_TEAM_FILE = PATTERNS['peer-to-peer'].exampleTeamFile;

describe('Class: PeerToPeerTeam (in a LegionStack)', () => {
  let team: TeamDefinition;
  let template: TemplateJson;
  let machine: Resource;
  let agentFunctions: string[];
  let controlFunctions: string[];

  beforeAll(async () => {
    team = await loadTeamFile(PEER_REVIEW_TEAM_FILE);
    const { app, stack } = buildApp({ teams: [team] });
    template = app.synth().getStackArtifact(stack.artifactId).template as TemplateJson;
    const machines = Object.values(resourcesOf(template, 'AWS::StepFunctions::StateMachine'));
    expect(machines).toHaveLength(1);
    machine = machines[0] as Resource;
    const functions = Object.entries(resourcesOf(template, 'AWS::Lambda::Function'));
    const isAgent = (fn: Resource): boolean => ENV.agent in ((fn.Properties?.Environment as { Variables?: object } | undefined)?.Variables ?? {});
    agentFunctions = functions.filter(([, fn]) => isAgent(fn)).map(([id]) => id);
    // Only those of the pattern: the auction's control functions are deployed too, but not for this machine.
    controlFunctions = PATTERNS['peer-to-peer'].controlFunctions.map((name) => logicalIdOf(stack.control.functions[name]));
  });
  afterAll(() => {
    removeTemporaryOutdirs();
  });

  it('deploys one function per peer and one for the verifier', () => {
    expect(agentFunctions).toHaveLength(4);
  });

  it('deploys the team as a STANDARD, traced state machine from its ASL asset', () => {
    expect(machine.Properties).toMatchObject({ StateMachineType: 'STANDARD', TracingConfiguration: { Enabled: true } });
    expect(machine.Properties?.DefinitionS3Location).toBeDefined();
  });

  it("lets the state machine invoke exactly the team functions and its pattern's control functions", () => {
    // begin-task, rollback-task, request-approval (its Escalate state) and record-detection (its hallucination detection).
    expect(PATTERNS['peer-to-peer'].controlFunctions).toEqual(DETECTING_CONTROL_FUNCTIONS);
    expect(controlFunctions).toHaveLength(DETECTING_CONTROL_FUNCTIONS.length);
    const invoke = statementsOfRole(template, referencedIds(machine.Properties?.RoleArn)[0] ?? '').filter((statement) =>
      actionsOf(statement).some((action) => action.startsWith('lambda:')),
    );
    expect(invoke.flatMap(actionsOf).every((action) => action === 'lambda:InvokeFunction')).toBe(true);
    const invoked = new Set(invoke.flatMap((statement) => referencedIds(statement.Resource)));
    expect([...invoked].sort()).toEqual([...agentFunctions, ...controlFunctions].sort());
    for (const statement of invoke) for (const resource of resourceList(statement)) expect(resource).not.toBe('*');
  });

  it('fills the peers (in definition order), the verifier and the limits from the team definition', () => {
    const substitutions = Object.fromEntries(
      Object.entries(machine.Properties?.DefinitionSubstitutions as Record<string, unknown>).map(([name, value]) => [name, renderIntrinsic(value)]),
    );
    const peerArns = (substitutions.PeerFunctionArns ?? '').split(',');

    expect(substitutions).toMatchObject({ TeamName: 'peer-review', PeerIds: 'security-reviewer,performance-reviewer,maintainability-reviewer', MaxRounds: '3', Quorum: '0.66' });
    expect(peerArns).toHaveLength(3);
    for (const arn of [...peerArns, substitutions.VerifierFunctionArn ?? '']) expect(agentFunctions).toContain(/^<(.+)\.Arn>$/.exec(arn)?.[1]);
    expect(new Set([...peerArns, substitutions.VerifierFunctionArn]).size).toBe(4);
  });

  it('refuses a team of another pattern', async () => {
    const telecom = await loadTeamFile('teams/telecom-support.yaml');
    const stack = new Stack(new App(), 'Wrong');
    const table = new dynamodb.Table(stack, 'Table', { partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING } });
    // Never used: the pattern check runs before any function is built.
    const controlFunctions = {} as AgentTeamProps['controlFunctions'];
    expect(() => new PeerToPeerTeam(stack, 'Telecom', { team: telecom, table, controlFunctions })).toThrow(/pattern "supervisor-worker", not "peer-to-peer"/);
  });
});
