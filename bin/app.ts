/**
 * The CDK app (`cdk.json` runs it): deploys every team definition in `teams/` into one
 * environment-agnostic `LegionStack`, which reads and checks the `legion:*` context itself
 * (lib/legion-context.ts lists the keys and their defaults).
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { App } from 'aws-cdk-lib';
import { LegionStack } from '../lib/legion-stack.ts';
import { loadTeamFile } from '../functions/core/team.ts';

const teamsDir = fileURLToPath(new URL('../teams/', import.meta.url));

const app = new App();

const teamFiles = (await readdir(teamsDir)).filter((file) => /\.ya?ml$/i.test(file)).sort();
if (teamFiles.length === 0) throw new Error(`No team definitions (*.yaml) in ${teamsDir}`);
const teams = await Promise.all(teamFiles.map((file) => loadTeamFile(join(teamsDir, file))));

new LegionStack(app, 'Legion', {
  description: 'Legion: teams of AI agents on AWS serverless',
  teams,
});

app.synth();
