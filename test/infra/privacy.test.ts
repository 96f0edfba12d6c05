/**
 * Privacy by default: the state machines log every event but not the states' input and output
 * (customer text, prompts, answers), and the agents do not log prompts and replies, unless the
 * context asks for it (`legion:logExecutionData`, `legion:logModelIo`).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENV } from '../../functions/core/contract.ts';
import { type TeamDefinition, loadTeamFile } from '../../functions/core/team.ts';
import { TELECOM_TEAM_FILE, buildApp, removeTemporaryOutdirs, resourcesOf, type TemplateJson } from './synth.ts';
import { Template } from 'aws-cdk-lib/assertions';

interface LoggingConfiguration {
  Level: string;
  IncludeExecutionData: boolean;
}

describe('Class: LegionStack', () => {
  describe('Feature: privacy by default', () => {
    let team: TeamDefinition;
    const synthesized = (context: Record<string, unknown> = {}): TemplateJson =>
      Template.fromStack(buildApp({ teams: [team], modelProvider: 'scripted', context }).stack).toJSON() as TemplateJson;
    const loggingOf = (template: TemplateJson): LoggingConfiguration[] =>
      Object.values(resourcesOf(template, 'AWS::StepFunctions::StateMachine')).map((machine) => machine.Properties?.LoggingConfiguration as LoggingConfiguration);
    const modelIoVariables = (template: TemplateJson): unknown[] =>
      Object.values(resourcesOf(template, 'AWS::Lambda::Function')).flatMap((fn) => {
        const variables = (fn.Properties?.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables ?? {};
        return ENV.logModelIo in variables ? [variables[ENV.logModelIo]] : [];
      });

    beforeAll(async () => {
      team = await loadTeamFile(TELECOM_TEAM_FILE);
    });
    afterAll(removeTemporaryOutdirs);

    it('logs every event of every state machine, without execution data, and no agent logs model calls, with the default context', () => {
      const template = synthesized();

      expect(loggingOf(template).map((logging) => [logging.Level, logging.IncludeExecutionData])).toEqual([['ALL', false]]);
      expect(modelIoVariables(template)).toEqual([]);
    });

    it('includes the execution data when legion:logExecutionData is true (as -c gives it, a string)', () => {
      expect(loggingOf(synthesized({ 'legion:logExecutionData': 'true' })).map((logging) => logging.IncludeExecutionData)).toEqual([true]);
    });

    it("tells every agent to log its model calls when legion:logModelIo is true, and nothing else changes", () => {
      const template = synthesized({ 'legion:logModelIo': true });

      expect(modelIoVariables(template)).toEqual(team.agents.map(() => 'true'));
      expect(loggingOf(template).map((logging) => logging.IncludeExecutionData)).toEqual([false]);
    });

    it('refuses a value that is not true or false, naming the key', () => {
      expect(() => synthesized({ 'legion:logExecutionData': 'yes' })).toThrow(/context legion:logExecutionData must be true or false \(got "yes"\)/);
    });
  });
});
