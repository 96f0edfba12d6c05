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

/** Longer than ENV_SYSTEM_PROMPT_CHARS: it cannot travel in the function's environment. */
const LONG_PROMPT = `You are a telecom account manager. ${'Confirm every change to a plan or an account in writing, and say when it takes effect. '.repeat(40)}`;

describe('Class: AgentFunction', () => {
  describe('Feature: ESM bundle made by esbuild', () => {
    let outdir: string;
    let team: TeamDefinition;
    let functions: Resource[];

    beforeAll(async () => {
      const telecom = await loadTeamFile(TELECOM_TEAM_FILE);
      // One agent's prompt is too long for the environment: it must travel in the bundle.
      team = { ...telecom, agents: telecom.agents.map((agent) => (agent.id === 'account-management' ? { ...agent, systemPrompt: LONG_PROMPT } : agent)) };
      outdir = mkdtempSync(join(tmpdir(), 'legion-bundle-'));
      const { app, stack } = buildApp({ teams: [team], modelProvider: 'scripted', bundling: true, outdir });
      const template = app.synth().getStackArtifact(stack.artifactId).template as TemplateJson;
      functions = Object.values(resourcesOf(template, 'AWS::Lambda::Function'));
    }, 180_000);

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

    it('carries a system prompt too long for the environment in the bundle, registered before the handler reads its configuration', async () => {
      const manager = functions.find((fn) => JSON.stringify(fn).includes('"id\\":\\"account-management'));
      if (!manager) throw new Error('no account-management function');
      expect(JSON.stringify(manager.Properties?.Environment)).not.toContain(LONG_PROMPT.slice(0, 60));
      expect(readFileSync(bundleOf(manager), 'utf8')).toContain(LONG_PROMPT);
      const variables = (manager.Properties?.Environment as { Variables: Record<string, unknown> }).Variables;
      const environment = Object.fromEntries(Object.entries(variables).map(([name, value]) => [name, renderIntrinsic(value)]));
      // readAgentConfig runs as the handler's module loads: it throws unless the prompt was registered first.
      const { stdout } = await run(
        process.execPath,
        ['--input-type=module', '-e', `const m = await import(${JSON.stringify(bundleOf(manager))}); console.log(typeof m.handler);`],
        { env: { PATH: process.env.PATH, ...environment, [ENV.tableName]: 'legion-test', AWS_REGION: 'us-east-1', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' }, timeout: 20_000 },
      );
      expect(stdout.trim()).toBe('function');
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

    /** The function's environment as CDK gives it, intrinsics rendered as plain strings. */
    function environmentOf(fn: Resource): Record<string, unknown> {
      const variables = (fn.Properties?.Environment as { Variables: Record<string, unknown> }).Variables;
      return Object.fromEntries(Object.entries(variables).map(([name, value]) => [name, renderIntrinsic(value)]));
    }

    /**
     * Runs the bundled handler on a work event in a child Node process (no tsx: it can import no
     * .ts file), with the function's environment and DynamoDB Local as its table.
     */
    async function invokeWork(fn: Resource, taskId: string, request: string): Promise<{ agentId: string; agentTeam: string; result: { agentId: string; status: string; answer: string } }> {
      const environment = environmentOf(fn);
      const settings = JSON.parse(String(environment[ENV.agent])) as { team: string; agent: { id: string } };
      const agentId = settings.agent.id;
      const event = {
        step: 'work', stateName: 'Work', taskId, request, conversation: [],
        assignment: { agentId, functionArn: 'arn:aws:lambda:us-east-1:123456789012:function:x', instruction: 'Answer it.' },
      };
      const context = { functionName: agentId, awsRequestId: 'r-1', getRemainingTimeInMillis: () => 30_000 };
      const script = `const m = await import(${JSON.stringify(bundleOf(fn))});
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
      return { agentId, agentTeam: settings.team, result };
    }

    it('invokes: the bundled worker answers and writes its checkpoint to DynamoDB Local', async () => {
      const worker = functions.find((fn) => JSON.stringify(fn).includes('"role\\":\\"worker'));
      if (!worker) throw new Error('no worker function');
      const taskId = `bundle-${String(Date.now())}`;
      const { agentId, agentTeam, result } = await invokeWork(worker, taskId, 'my bill is wrong');
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

    it("carries the billing worker's module tool: the bundle calls lookup_invoice for an invoice id in the request", async () => {
      const billing = functions.find((fn) => JSON.stringify(fn).includes('"id\\":\\"billing'));
      if (!billing) throw new Error('no billing function');
      // The tool module is in the bundle itself (a child Node 20 without tsx could not import the .ts file).
      expect(readFileSync(bundleOf(billing), 'utf8')).toContain('The charges, total and payments of one invoice');
      const taskId = `bundle-tool-${String(Date.now())}`;

      const { agentId, result } = await invokeWork(billing, taskId, 'Why was I charged twice on INV-1042?');

      expect(agentId).toBe('billing');
      expect(result.status).toBe('ANSWERED');
      expect(result.answer).toContain('[tool lookup_invoice] {"invoiceId":"INV-1042","period":"October","total":"€45.00"');
      expect(result.answer).toContain('Monthly plan (duplicate charge)');
    });
  });
});
