/**
 * `legion:teams`: the CDK app deploys the teams the context names (files and folders), and only
 * those; anything else is refused at synth with the key and what it takes.
 */
import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { afterAll, describe, expect, it } from 'vitest';
import { teamsFromContext } from '../../lib/context-teams.ts';
import { buildApp, removeTemporaryOutdirs, resourcesOf, type TemplateJson } from './synth.ts';
import { Template } from 'aws-cdk-lib/assertions';

const teamsOf = (value: unknown) => teamsFromContext(new App({ context: value === undefined ? {} : { 'legion:teams': value } }).node);

describe('Function: teamsFromContext', () => {
  afterAll(removeTemporaryOutdirs);

  it('deploys only the named team (and the sub-teams a hierarchical team names): one state machine each', async () => {
    const teams = await teamsOf('test/fixtures/teams/plans.yaml');
    const template = Template.fromStack(buildApp({ teams, modelProvider: 'scripted' }).stack).toJSON() as TemplateJson;

    expect(teams.map((team) => team.name)).toEqual(['plans']);
    expect(Object.keys(resourcesOf(template, 'AWS::StepFunctions::StateMachine'))).toEqual([expect.stringMatching(/^plansStateMachine/)]);
  });

  it('takes files and folders, comma-separated (-c) or as a list (cdk.json), each team once', async () => {
    const fromString = await teamsOf('teams/telecom-support.yaml, teams');
    const fromList = await teamsOf(['test/fixtures/teams/plans.yaml', 'test/fixtures/teams/quoting.yaml']);

    expect(fromString.map((team) => team.name)).toEqual(['telecom-support', 'content-pipeline', 'market-research', 'marketplace', 'peer-review', 'research-hierarchy', 'technical-research']);
    expect(fromList.map((team) => team.name)).toEqual(['plans', 'quoting']);
  });

  it('takes the YAML and JSON files of a folder, not the modules beside them (tools, handlers, tests)', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'legion-team-folder-'));
    copyFileSync('test/fixtures/teams/it-helpdesk.yaml', join(folder, 'it-helpdesk.YAML'));
    writeFileSync(join(folder, 'lookup.ts'), 'export const notATeam = 1;\n');

    const teams = await teamsOf(folder);

    expect(teams.map((team) => team.name)).toEqual(['it-helpdesk']);
  });

  it.each([
    ['unset', undefined, /Context legion:teams names the teams to deploy: .* \(it is not set, so nothing would be deployed\)/],
    ['not text nor a list of text', 42, /Context legion:teams names the teams to deploy: .*; got 42/],
    ['a path that does not exist', 'teams/nope.yaml', /Context legion:teams: teams\/nope\.yaml does not exist/],
    ['a folder without team files', mkdtempSync(join(tmpdir(), 'legion-empty-')), /Context legion:teams: folder .* holds no team files/],
  ])('refuses a value that is %s, saying what it takes', async (_case, value, message) => {
    await expect(teamsOf(value)).rejects.toThrow(message);
  });
});
