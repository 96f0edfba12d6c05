/**
 * An agent's Lambda tools in the stack: its role may invoke the functions its tools name, and no
 * other; no other agent may invoke them. Checked with the offline IAM simulator against the call the
 * Lambda tool makes (`lambda:InvokeFunction` on the tool's ARN), so the code and the grant are tested
 * together.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadTeamFile } from '../../functions/core/team.ts';
import { Deployment, type DeployedRole } from '../support/deployed-roles.ts';
import { simulateCall } from '../support/iam-simulator.ts';
import { buildApp, removeTemporaryOutdirs } from './synth.ts';

const PLAN_FUNCTION = 'arn:aws:lambda:us-east-1:123456789012:function:lookup-plan';

describe('Class: AgentFunction', () => {
  describe('Feature: Lambda tools', () => {
    let deployment: Deployment;
    const role = (functionName: string): DeployedRole => {
      const found = deployment.roleOf(functionName);
      if (!found) throw new Error(`no role for ${functionName}`);
      return found;
    };
    const invoke = (resourceArn: string) => ({ action: 'lambda:InvokeFunction', resourceArn, context: {} });

    beforeAll(async () => {
      const team = await loadTeamFile('test/fixtures/teams/plans.yaml');
      deployment = new Deployment(buildApp({ teams: [team], modelProvider: 'scripted' }).stack);
    });
    afterAll(removeTemporaryOutdirs);

    it("lets the worker invoke its tool's function", async () => {
      expect(await simulateCall(role('legion-plans-plans-desk'), invoke(PLAN_FUNCTION))).toEqual({ allowed: true });
    });

    it('lets it invoke no other function', async () => {
      const verdict = await simulateCall(role('legion-plans-plans-desk'), invoke('arn:aws:lambda:us-east-1:123456789012:function:delete-account'));
      expect(verdict.allowed).toBe(false);
    });

    it('lets no other agent invoke the tool function', async () => {
      const verdict = await simulateCall(role('legion-plans-supervisor'), invoke(PLAN_FUNCTION));
      expect(verdict.allowed).toBe(false);
    });
  });
});
