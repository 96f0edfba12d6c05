/**
 * The CDK app (`cdk.json` runs it): deploys the teams the `legion:teams` context names (this
 * repository's cdk.json names `teams`, the examples) into one environment-agnostic `LegionStack`,
 * which reads and checks the other `legion:*` context itself (lib/legion-context.ts lists them).
 */
import { App } from 'aws-cdk-lib';
import { teamsFromContext } from '../lib/context-teams.ts';
import { LegionStack } from '../lib/legion-stack.ts';

const app = new App();

new LegionStack(app, 'Legion', {
  description: 'Legion: teams of AI agents on AWS serverless',
  teams: await teamsFromContext(app.node),
});

app.synth();
