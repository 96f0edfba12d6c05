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
import { type BuildOptions, TELECOM_TEAM_FILE, buildApp, logicalIdOf, removeTemporaryOutdirs, resourcesOf, type TemplateJson } from './synth.ts';

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
    it('tells every Legion function (agents, control, triggers, keeper, bid collector) the days given, and none when none is given', () => {
      const withTtl = ttlOfEachFunction(synthesized({ context: { 'legion:ttlDays': '30' } }));
      const byDefault = ttlOfEachFunction(synthesized());

      expect(Object.keys(withTtl).length).toBeGreaterThan(20);
      expect(new Set(Object.values(withTtl))).toEqual(new Set(['30']));
      expect(new Set(Object.values(byDefault))).toEqual(new Set([undefined]));
    });

    it('takes the prop over the context, and refuses a prop that is not a whole number of days', () => {
      expect(new Set(Object.values(ttlOfEachFunction(synthesized({ ttlDays: 90, context: { 'legion:ttlDays': '30' } }))))).toEqual(new Set(['90']));
      expect(() => buildApp({ teams, ttlDays: 0 })).toThrow('ttlDays must be a whole number of days, 1 or more, got 0');
      expect(() => buildApp({ teams, ttlDays: 1.5 })).toThrow(/ttlDays must be a whole number of days/);
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

    it('refuses an empty text (none is said so) and, as a prop, a name of no pattern', () => {
      expect(() => rulesOf({ context: { 'legion:eventRules': '' } })).toThrow(/context legion:eventRules must be all, none, or pattern names .* \(got ""\)/);
      expect(() => rulesOf({ eventRules: ['piplene' as never] })).toThrow(/eventRules must name patterns \(.*\), got piplene/);
    });

    it('lets start-run start only the machines of the patterns that have a rule', () => {
      const { stack } = buildApp({ teams, modelProvider: 'scripted', context: { 'legion:eventRules': 'pipeline' } });
      const template = Template.fromStack(stack).toJSON() as TemplateJson;
      const defaultPolicy = stack.events.startRun.role.node.tryFindChild('DefaultPolicy');
      if (!defaultPolicy) throw new Error('start-run has no default policy');
      const policy = JSON.stringify(template.Resources[logicalIdOf(defaultPolicy)]);

      expect(policy).toContain(logicalIdOf(stack.teams['content-pipeline']?.stateMachine as never));
      expect(policy).not.toContain(logicalIdOf(stack.teams['telecom-support']?.stateMachine as never));
    });

    it("keeps the auction team's own announcement and bid rules whatever it says", () => {
      const { stack } = buildApp({ teams, modelProvider: 'scripted', context: { 'legion:eventRules': 'none' } });

      expect(stack.teams['marketplace']?.node.findAll().filter((construct) => construct instanceof events.Rule).length).toBeGreaterThan(0);
    });
  });
});
