/**
 * The Legion settings that reach every function or the bus: `legion:ttlDays` (how long a task's
 * items are kept: LEGION_TTL_DAYS on every function that writes them) and `legion:eventRules` (which
 * patterns have a RunRequested rule), from the context or from the props, which win.
 */
import { Template } from 'aws-cdk-lib/assertions';
import * as events from 'aws-cdk-lib/aws-events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENV } from '../../functions/core/contract.ts';
import { type TeamDefinition, loadTeamFile } from '../../functions/core/team.ts';
import { type BuildOptions, TELECOM_TEAM_FILE, buildApp, removeTemporaryOutdirs, resourcesOf, type TemplateJson } from './synth.ts';

describe('Class: Legion', () => {
  let teams: TeamDefinition[];
  const synthesized = (options: Partial<BuildOptions> = {}): TemplateJson =>
    Template.fromStack(buildApp({ teams, modelProvider: 'scripted', ...options }).stack).toJSON() as TemplateJson;
  const ttlOfEachFunction = (template: TemplateJson): Record<string, unknown> =>
    Object.fromEntries(
      Object.entries(resourcesOf(template, 'AWS::Lambda::Function')).map(([id, fn]) => [id, (fn.Properties?.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables?.[ENV.ttlDays]]),
    );
  const runRequestedPatterns = (template: TemplateJson): string[] =>
    Object.values(resourcesOf(template, 'AWS::Events::Rule'))
      .map((rule) => rule.Properties?.EventPattern as { 'detail-type'?: string[]; detail?: { pattern?: string[] } })
      .filter((pattern) => pattern['detail-type']?.includes('RunRequested'))
      .flatMap((pattern) => pattern.detail?.pattern ?? [])
      .sort();

  beforeAll(async () => {
    teams = [await loadTeamFile(TELECOM_TEAM_FILE), await loadTeamFile('teams/content-pipeline.yaml'), await loadTeamFile('teams/marketplace.yaml')];
  });
  afterAll(removeTemporaryOutdirs);

  describe('Feature: legion:ttlDays', () => {
    it('tells every function that writes task items (agents, control, triggers, keeper, bid collector) the days given, and none when none is given', () => {
      const withTtl = ttlOfEachFunction(synthesized({ context: { 'legion:ttlDays': '30' } }));
      const byDefault = ttlOfEachFunction(synthesized());

      expect(Object.keys(withTtl).length).toBeGreaterThan(20);
      expect(new Set(Object.values(withTtl))).toEqual(new Set(['30']));
      expect(Object.keys(withTtl).filter((id) => /CollectBid|ApprovalKeeper|StartRun|BeginTask|AgentFunction/.test(id)).length).toBeGreaterThan(5);
      expect(new Set(Object.values(byDefault))).toEqual(new Set([undefined]));
    });

    it('takes the prop over the context', () => {
      expect(new Set(Object.values(ttlOfEachFunction(synthesized({ ttlDays: 90, context: { 'legion:ttlDays': '30' } }))))).toEqual(new Set(['90']));
    });
  });

  describe('Feature: legion:eventRules', () => {
    // The rules as the Legion made them: no synthesis needed.
    const rulesOf = (options: Partial<BuildOptions>): string[] => Object.keys(buildApp({ teams, modelProvider: 'scripted', ...options }).stack.events.runRequestedRules).sort();

    it('has a RunRequested rule for each pattern of the teams deployed by default, for the named patterns only, or for none', () => {
      expect(runRequestedPatterns(synthesized())).toEqual(['auction', 'pipeline', 'supervisor-worker']);
      expect(rulesOf({ context: { 'legion:eventRules': 'pipeline,peer-to-peer' } })).toEqual(['pipeline']);
      expect(rulesOf({ context: { 'legion:eventRules': 'none' } })).toEqual([]);
      expect(rulesOf({ eventRules: ['auction'], context: { 'legion:eventRules': 'none' } })).toEqual(['auction']);
    });

    it("keeps the auction team's own announcement and bid rules whatever it says", () => {
      const { stack } = buildApp({ teams, modelProvider: 'scripted', context: { 'legion:eventRules': 'none' } });

      expect(stack.teams['marketplace']?.node.findAll().filter((construct) => construct instanceof events.Rule).length).toBeGreaterThan(0);
    });
  });
});
