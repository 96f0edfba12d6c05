import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENV } from '../../functions/shared/contract.ts';
import { type TeamDefinition, loadTeamFile } from '../../functions/shared/team.ts';
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
      expect(functions).toHaveLength(team.agents.length);
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
  });
});
