import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type App, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TeamDefinition, loadTeamFile } from '../../functions/core/team.ts';
import { LegionTeam } from '../../lib/legion-team.ts';
import { TELECOM_TEAM_FILE, buildApp, newApp } from './synth.ts';

interface ValidationReport {
  pluginReports: { pluginName?: string; violations: { ruleName: string }[] }[];
}

const TEAMS_DIR = fileURLToPath(new URL('../../teams/', import.meta.url));

const nagPacks = (app: App) => [new AwsSolutionsChecks(app), new ServerlessChecks(app)];

describe('Class: LegionStack', () => {
  describe('Feature: cdk-nag checks', () => {
    const outdirs: string[] = [];
    let team: TeamDefinition;
    /** Every shipped team, as `cdk deploy` deploys them: one team of each pattern, and sub-teams. */
    let shipped: TeamDefinition[];

    beforeAll(async () => {
      team = await loadTeamFile(TELECOM_TEAM_FILE);
      const files = readdirSync(TEAMS_DIR).filter((file) => file.endsWith('.yaml')).sort();
      shipped = await Promise.all(files.map((file) => loadTeamFile(join(TEAMS_DIR, file))));
    });

    afterAll(() => {
      for (const outdir of outdirs) rmSync(outdir, { recursive: true, force: true });
    });

    /** Synthesizes and returns the violations of the validation report, and what synth threw. */
    function validate(build: (outdir: string) => App): { violations: string[]; failure: unknown } {
      const outdir = mkdtempSync(join(tmpdir(), 'legion-nag-'));
      outdirs.push(outdir);
      const app = build(outdir);
      let failure: unknown;
      try {
        app.synth();
      } catch (error) {
        failure = error;
      }
      const report = JSON.parse(readFileSync(join(outdir, 'validation-report.json'), 'utf8')) as ValidationReport;
      const violations = report.pluginReports.flatMap((plugin) =>
        plugin.violations.map((violation) => `${plugin.pluginName ?? '?'}: ${violation.ruleName}`),
      );
      return { violations, failure };
    }

    it.each(['bedrock', 'scripted'] as const)(
      'passes the AwsSolutions and Serverless packs and CloudFormation validation with every shipped team (%s models)',
      (modelProvider) => {
        const { violations, failure } = validate(
          (outdir) => buildApp({ teams: shipped, modelProvider, outdir, cfnValidation: true, plugins: nagPacks }).app,
        );
        expect(violations).toEqual([]);
        expect(failure).toBeUndefined();
      },
      // The first CloudFormation validation of a process loads a WASM engine: seconds on a busy machine.
      60_000,
    );

    it('passes with inference profiles for the tiers and an agent with its own model (the routed-to foundation models acknowledged)', () => {
      const withOwnModel: TeamDefinition = {
        ...team,
        agents: team.agents.map((agent, index) => (index === 1 ? { ...agent, model: 'arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc123' } : agent)),
      };
      const { violations, failure } = validate(
        (outdir) =>
          buildApp({
            teams: [withOwnModel],
            modelProvider: 'bedrock',
            outdir,
            plugins: nagPacks,
            context: { 'legion:modelIds': 'fast=us.anthropic.claude-haiku-4-5-20251001-v1:0,balanced=global.anthropic.claude-sonnet-4-5-20250929-v1:0' },
          }).app,
      );
      expect(violations).toEqual([]);
      expect(failure).toBeUndefined();
    }, 60_000);

    it('passes with a custom team whose worker has a Lambda tool (granted on that ARN only, nothing to acknowledge)', async () => {
      const plans = await loadTeamFile('test/fixtures/teams/plans.yaml');
      const { violations, failure } = validate((outdir) => buildApp({ teams: [plans], modelProvider: 'bedrock', outdir, plugins: nagPacks }).app);
      expect(violations).toEqual([]);
      expect(failure).toBeUndefined();
    }, 60_000);

    it('passes with a custom team deployed by LegionTeam into a stack of one\'s own (its Legion made there)', async () => {
      const plans = await loadTeamFile('test/fixtures/teams/plans.yaml');
      const { violations, failure } = validate((outdir) => {
        const app = newApp({ outdir, plugins: nagPacks });
        new LegionTeam(new Stack(app, 'Service'), 'Plans', { team: plans });
        return app;
      });
      expect(violations).toEqual([]);
      expect(failure).toBeUndefined();
    }, 60_000);

    it('does report a finding (the packs really run)', () => {
      const { violations, failure } = validate((outdir) => {
        const { app, stack } = buildApp({ teams: [team], outdir, plugins: nagPacks });
        new dynamodb.Table(stack, 'Unprotected', {
          partitionKey: { name: 'id', type: dynamodb.AttributeType.STRING },
          removalPolicy: RemovalPolicy.DESTROY,
        });
        return app;
      });
      expect(violations).toContain('AwsSolutions: AwsSolutions-DDB3');
      expect(failure).toBeInstanceOf(Error);
    }, 60_000);
  });
});
