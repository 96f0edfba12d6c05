import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { DynamoDbLocal, LOCAL_TABLE_NAME } from '../../local/dynamodb-local.ts';
import { CheckpointManager } from '../../functions/recovery/checkpoint-manager.ts';
import { CONTROL_FUNCTIONS, ENV } from '../../functions/core/contract.ts';
import { type TeamDefinition, loadTeamFile } from '../../functions/core/team.ts';
import { ESM_REQUIRE_BANNER } from '../../lib/agent-function.ts';
import { type Resource, type TemplateJson, TELECOM_TEAM_FILE, buildApp, renderIntrinsic, resourcesOf } from './synth.ts';

const run = promisify(execFile);

describe('Class: AgentFunction', () => {
  describe('Feature: ESM bundle made by esbuild', () => {
    let outdir: string;
    let team: TeamDefinition;
    let functions: Resource[];

    beforeAll(async () => {
      team = await loadTeamFile(TELECOM_TEAM_FILE);
      outdir = mkdtempSync(join(tmpdir(), 'legion-bundle-'));
      const { app, stack } = buildApp({ teams: [team], modelProvider: 'scripted', bundling: true, outdir });
      const template = app.synth().getStackArtifact(stack.artifactId).template as TemplateJson;
      functions = Object.values(resourcesOf(template, 'AWS::Lambda::Function'));
    }, 60_000);

    afterAll(() => {
      rmSync(outdir, { recursive: true, force: true });
    });

    function bundleOf(fn: Resource): string {
      const key = ((fn.Properties?.Code as { S3Key: string }).S3Key).replace(/\.zip$/, '');
      return join(outdir, `asset.${key}`, 'index.mjs');
    }

    it('writes an index.mjs with the createRequire banner and a source map for every agent', () => {
      // + start-run and publish-outcome (lib/event-triggers.ts), and the approval keeper (lib/approval-keeper.ts)
      expect(functions).toHaveLength(team.agents.length + CONTROL_FUNCTIONS.length + 3);
      for (const fn of functions) {
        const bundle = bundleOf(fn);
        expect(existsSync(bundle), bundle).toBe(true);
        expect(existsSync(`${bundle}.map`)).toBe(true);
        expect(readFileSync(bundle, 'utf8').startsWith(ESM_REQUIRE_BANNER)).toBe(true);
        expect(fn.Properties?.Handler).toBe('index.handler');
      }
    });

    it('loads in Node with the environment CDK gives it, and exports the handler', async () => {
      const worker = functions.find((fn) => JSON.stringify(fn).includes('"role\\":\\"worker'));
      if (!worker) throw new Error('no worker function');
      const variables = (worker.Properties?.Environment as { Variables: Record<string, unknown> }).Variables;
      const environment = Object.fromEntries(
        Object.entries(variables).map(([name, value]) => [name, renderIntrinsic(value)]),
      );
      const { stdout } = await run(
        process.execPath,
        ['--input-type=module', '-e', `const m = await import(${JSON.stringify(bundleOf(worker))}); console.log(typeof m.handler);`],
        {
          env: {
            PATH: process.env.PATH,
            ...environment,
            [ENV.tableName]: 'legion-test',
            AWS_REGION: 'us-east-1',
            AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
          },
          timeout: 20_000,
        },
      );
      expect(stdout.trim()).toBe('function');
    });

    it('invokes: the bundled worker answers and writes its checkpoint to DynamoDB Local', async () => {
      const worker = functions.find((fn) => JSON.stringify(fn).includes('"role\\":\\"worker'));
      if (!worker) throw new Error('no worker function');
      const variables = (worker.Properties?.Environment as { Variables: Record<string, unknown> }).Variables;
      const environment = Object.fromEntries(Object.entries(variables).map(([name, value]) => [name, renderIntrinsic(value)]));
      const settings = JSON.parse(String(environment[ENV.agent])) as { team: string; agent: { id: string } };
      const agentId = settings.agent.id;
      const agentTeam = settings.team;
      const taskId = `bundle-${String(Date.now())}`;
      const event = {
        step: 'work', stateName: 'Work', taskId, request: 'my bill is wrong', conversation: [],
        assignment: { agentId, functionArn: 'arn:aws:lambda:us-east-1:123456789012:function:x', instruction: 'Answer it.' },
      };
      const context = { functionName: agentId, awsRequestId: 'r-1', getRemainingTimeInMillis: () => 30_000 };
      const script = `const m = await import(${JSON.stringify(bundleOf(worker))});
        const result = await m.handler(${JSON.stringify(event)}, { ...${JSON.stringify(context)}, getRemainingTimeInMillis: () => 30000 });
        process.stdout.write('RESULT ' + JSON.stringify(result) + '\\n');`;
      const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], {
        env: {
          PATH: process.env.PATH,
          ...environment,
          [ENV.tableName]: LOCAL_TABLE_NAME,
          // The SDK's standard per-service endpoint variable points the bundled client at DynamoDB Local.
          AWS_ENDPOINT_URL_DYNAMODB: inject('dynamoEndpoint'),
          AWS_REGION: 'us-east-1',
          AWS_ACCESS_KEY_ID: 'local',
          AWS_SECRET_ACCESS_KEY: 'local',
          AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
        },
        timeout: 20_000,
      });
      const resultLine = stdout.split('\n').find((line) => line.startsWith('RESULT '));
      const result = JSON.parse(resultLine?.slice('RESULT '.length) ?? 'null') as { agentId: string; status: string; answer: string };
      expect(result.agentId).toBe(agentId);
      expect(result.status).toBe('ANSWERED');
      expect(result.answer).toContain('my bill is wrong');
      // The checkpoint middleware ran inside the bundle: one item for this task, under the agent's team.
      const db = await DynamoDbLocal.connect(inject('dynamoEndpoint'));
      try {
        const stored = await new CheckpointManager({ client: db.documentClient(), tableName: LOCAL_TABLE_NAME, team: agentTeam }).list(taskId);
        expect(stored.map((checkpoint) => [checkpoint.agent, checkpoint.stateName])).toEqual([[agentId, 'Work']]);
      } finally {
        await db.stop();
      }
    });
  });
});
