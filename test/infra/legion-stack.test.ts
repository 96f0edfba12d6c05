import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readAgentConfig } from '../../functions/core/config.ts';
import { CHECKPOINT_TABLE, COMMON_CONTROL_FUNCTIONS, CONTROL_FUNCTIONS, DEFAULT_MODEL_IDS, ENV, PENDING_APPROVALS_INDEX } from '../../functions/core/contract.ts';
import { applySubstitutions, PATTERNS, placeholdersIn } from '../../functions/patterns/index.ts';
import { MAX_SYSTEM_PROMPT_CHARS, type TeamDefinition, loadTeamFile, parseTeam, supervisorOf, workersOf } from '../../functions/core/team.ts';
import {
  REPO_ROOT,
  type Resource,
  type TemplateJson,
  TELECOM_TEAM_FILE,
  actionsOf,
  buildApp,
  referencedIds,
  removeTemporaryOutdirs,
  renderIntrinsic,
  resourceList,
  resourcesOf,
  statementsOfRole,
} from './synth.ts';

/** start-run and publish-outcome (lib/event-triggers.ts), and the approval keeper (lib/approval-keeper.ts, in the same Events scope). */
const EVENT_TRIGGER_FUNCTIONS = 3;

interface Synthesized {
  template: TemplateJson;
  assemblyDir: string;
}

function synthesize(teams: TeamDefinition[], modelProvider?: 'bedrock' | 'scripted'): Synthesized {
  const { app, stack } = buildApp({ teams, modelProvider });
  const assembly = app.synth();
  return {
    template: assembly.getStackArtifact(stack.artifactId).template as TemplateJson,
    assemblyDir: assembly.directory,
  };
}

function onlyOne(resources: Record<string, Resource>): [string, Resource] {
  const entries = Object.entries(resources);
  expect(entries).toHaveLength(1);
  return entries[0] as [string, Resource];
}

function variablesOf(fn: Resource): Record<string, unknown> {
  return (fn.Properties?.Environment as { Variables: Record<string, unknown> }).Variables;
}

/** The environment of a function as the Lambda runtime would see it, with ARNs shown as `<Id.Arn>`. */
function renderedEnvironment(fn: Resource): Record<string, string> {
  return Object.fromEntries(Object.entries(variablesOf(fn)).map(([name, value]) => [name, renderIntrinsic(value)]));
}

function agentIdOf(fn: Resource): string {
  return readAgentConfig(renderedEnvironment(fn)).agent.id;
}

function roleIdOf(fn: Resource): string {
  const [roleId] = referencedIds(fn.Properties?.Role);
  if (!roleId) throw new Error('function has no role');
  return roleId;
}

describe('Class: LegionStack', () => {
  let team: TeamDefinition;
  let template: TemplateJson;
  let assemblyDir: string;
  /** The agent functions (those configured with an agent); the control functions are apart. */
  let functions: Record<string, Resource>;
  let controlFunctions: Record<string, Resource>;
  let tableId: string;

  beforeAll(async () => {
    team = await loadTeamFile(TELECOM_TEAM_FILE);
    ({ template, assemblyDir } = synthesize([team]));
    const all = Object.entries(resourcesOf(template, 'AWS::Lambda::Function'));
    const isAgent = ([, fn]: [string, Resource]): boolean => ENV.agent in ((fn.Properties?.Environment as { Variables: object } | undefined)?.Variables ?? {});
    functions = Object.fromEntries(all.filter(isAgent));
    // The event-trigger functions (lib/event-triggers.ts, construct id Events) are not called by state machines.
    controlFunctions = Object.fromEntries(all.filter((entry) => !isAgent(entry) && !entry[0].startsWith('Events')));
    [tableId] = onlyOne(resourcesOf(template, 'AWS::DynamoDB::Table'));
  });

  afterAll(removeTemporaryOutdirs);

  /** The logical id of a control function (`begin-task` → `ControlBeginTask...`). */
  const controlIdOf = (name: string): string => {
    const pascal = name.replace(/(^|-)([a-z])/g, (_match, _dash: string, letter: string) => letter.toUpperCase());
    return Object.keys(controlFunctions).find((id) => id.includes(pascal)) ?? '?';
  };

  describe('Feature: checkpoint table', () => {
    it('uses the key schema of the contract, on demand', () => {
      const [, table] = onlyOne(resourcesOf(template, 'AWS::DynamoDB::Table'));
      expect(table.Properties).toMatchObject({
        KeySchema: [
          { AttributeName: CHECKPOINT_TABLE.partitionKey, KeyType: 'HASH' },
          { AttributeName: CHECKPOINT_TABLE.sortKey, KeyType: 'RANGE' },
        ],
        AttributeDefinitions: [
          { AttributeName: CHECKPOINT_TABLE.partitionKey, AttributeType: 'S' },
          { AttributeName: CHECKPOINT_TABLE.sortKey, AttributeType: 'S' },
          { AttributeName: PENDING_APPROVALS_INDEX.partitionKey, AttributeType: 'S' },
          { AttributeName: PENDING_APPROVALS_INDEX.sortKey, AttributeType: 'S' },
        ],
        BillingMode: 'PAY_PER_REQUEST',
      });
    });

    it('has exactly one global secondary index: the sparse index of pending approvals of the contract', () => {
      const [, table] = onlyOne(resourcesOf(template, 'AWS::DynamoDB::Table'));
      expect(table.Properties?.GlobalSecondaryIndexes).toEqual([
        {
          IndexName: PENDING_APPROVALS_INDEX.indexName,
          KeySchema: [
            { AttributeName: PENDING_APPROVALS_INDEX.partitionKey, KeyType: 'HASH' },
            { AttributeName: PENDING_APPROVALS_INDEX.sortKey, KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: [...PENDING_APPROVALS_INDEX.projectedAttributes] },
        },
      ]);
    });

    it("keeps other functions' table grants off the index (no <table ARN>/index/* resource anywhere)", () => {
      const resources = Object.values(resourcesOf(template, 'AWS::IAM::Policy'))
        .flatMap((policy) => (policy.Properties?.PolicyDocument as { Statement: { Resource: unknown }[] }).Statement)
        .map((statement) => JSON.stringify(statement.Resource));
      expect(resources.filter((resource) => resource.includes('/index/*'))).toEqual([]);
    });

    it('expires items through a TTL on expiresAt', () => {
      const [, table] = onlyOne(resourcesOf(template, 'AWS::DynamoDB::Table'));
      expect(table.Properties?.TimeToLiveSpecification).toEqual({
        AttributeName: CHECKPOINT_TABLE.ttlAttribute,
        Enabled: true,
      });
    });

    it('has point-in-time recovery, encryption at rest, and is retained on removal', () => {
      const [, table] = onlyOne(resourcesOf(template, 'AWS::DynamoDB::Table'));
      expect(table.Properties?.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
      expect(table.Properties?.SSESpecification).toEqual({ SSEEnabled: true });
      expect(table.DeletionPolicy).toBe('Retain');
      expect(table.UpdateReplacePolicy).toBe('Retain');
    });
  });

  describe('Feature: agent functions', () => {
    it('creates exactly one function per agent role', () => {
      expect(Object.keys(functions)).toHaveLength(team.agents.length);
      expect(Object.values(functions).map(agentIdOf).sort()).toEqual(team.agents.map((agent) => agent.id).sort());
    });

    it('runs Node.js 22 on arm64 with active tracing and JSON logs', () => {
      for (const fn of Object.values(functions)) {
        expect(fn.Properties).toMatchObject({
          Runtime: 'nodejs22.x',
          Architectures: ['arm64'],
          TracingConfig: { Mode: 'Active' },
          LoggingConfig: { LogFormat: 'JSON' },
        });
      }
    });

    it('takes memory, timeout and reserved concurrency from the agent definition', () => {
      for (const fn of Object.values(functions)) {
        const agent = team.agents.find((candidate) => candidate.id === agentIdOf(fn));
        expect(fn.Properties?.MemorySize).toBe(agent?.memoryMb);
        expect(fn.Properties?.Timeout).toBe(agent?.timeoutSeconds);
        expect(fn.Properties?.ReservedConcurrentExecutions).toBe(agent?.reservedConcurrency);
      }
    });

    it('sets every variable readAgentConfig reads, and they parse', () => {
      for (const fn of Object.values(functions)) {
        const environment = renderedEnvironment(fn);
        expect(Object.keys(environment)).toEqual(
          expect.arrayContaining([ENV.tableName, ENV.agent, ENV.modelProvider, ENV.modelIds]),
        );
        expect(variablesOf(fn)[ENV.tableName]).toEqual({ Ref: tableId });
        const config = readAgentConfig(environment);
        expect(config.team).toBe(team.name);
        // Only the supervisor answers with the fallback; workers are not told it.
        expect(config.fallbackAnswer).toBe(config.agent.role === 'supervisor' ? team.fallbackAnswer : '');
        expect(config.model).toEqual({ provider: 'bedrock', modelIds: DEFAULT_MODEL_IDS });
        expect(config.agent).toEqual(team.agents.find((agent) => agent.id === config.agent.id));
      }
    });

    it('gives the supervisor a roster of the workers that points at their functions', () => {
      const logicalIdOfAgent = Object.fromEntries(Object.entries(functions).map(([id, fn]) => [agentIdOf(fn), id]));
      const supervisor = supervisorOf(team);
      const supervisorFn = functions[logicalIdOfAgent[supervisor.id] ?? ''];
      if (!supervisorFn) throw new Error('no supervisor function');
      const { roster } = readAgentConfig(renderedEnvironment(supervisorFn));
      expect(roster).toEqual(
        workersOf(team).map((worker) => ({
          id: worker.id,
          description: worker.description,
          capabilities: worker.capabilities,
          functionArn: `<${logicalIdOfAgent[worker.id] ?? '?'}.Arn>`,
        })),
      );
      for (const fn of Object.values(functions)) {
        if (fn !== supervisorFn) expect(readAgentConfig(renderedEnvironment(fn)).roster).toEqual([]);
      }
    });
  });

  describe('Feature: least-privilege IAM', () => {
    it('scopes each agent role to its table actions on the table ARN, never *', () => {
      for (const fn of Object.values(functions)) {
        const dynamo = statementsOfRole(template, roleIdOf(fn)).filter((statement) =>
          actionsOf(statement).some((action) => action.startsWith('dynamodb:')),
        );
        expect(dynamo.length).toBeGreaterThan(0);
        for (const statement of dynamo) {
          expect(actionsOf(statement).sort()).toEqual(['dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:UpdateItem']);
          for (const resource of resourceList(statement)) {
            expect(resource).not.toBe('*');
            expect(resource).toEqual({ 'Fn::GetAtt': [tableId, 'Arn'] });
          }
        }
      }
    });

    it("lets each agent invoke only the Bedrock model of its tier: the default inference profile, and its foundation model only through it", () => {
      for (const fn of Object.values(functions)) {
        const agent = team.agents.find((candidate) => candidate.id === agentIdOf(fn));
        const profileId = DEFAULT_MODEL_IDS[agent?.modelTier ?? 'fast'];
        const bedrock = statementsOfRole(template, roleIdOf(fn)).filter((statement) =>
          actionsOf(statement).some((action) => action.startsWith('bedrock:')),
        );
        expect(bedrock).toHaveLength(2);
        expect(bedrock.map((statement) => actionsOf(statement as never))).toEqual([['bedrock:InvokeModel'], ['bedrock:InvokeModel']]);
        const profileArn = `arn:<AWS::Partition>:bedrock:<AWS::Region>:<AWS::AccountId>:inference-profile/${profileId}`;
        expect(bedrock.map((statement) => resourceList(statement as never).map(renderIntrinsic))).toEqual([
          [profileArn],
          [`arn:<AWS::Partition>:bedrock:*::foundation-model/${profileId.replace(/^global\./, '')}`],
        ]);
        expect(renderIntrinsic((bedrock[1] as { Condition?: { StringEquals?: Record<string, unknown> } }).Condition?.StringEquals?.['bedrock:InferenceProfileArn'])).toBe(profileArn);
      }
    });

    it('uses no managed policies and no wildcard resource except for X-Ray', () => {
      for (const fn of Object.values(functions)) {
        const roleId = roleIdOf(fn);
        expect(template.Resources[roleId]?.Properties?.ManagedPolicyArns).toBeUndefined();
        for (const statement of statementsOfRole(template, roleId)) {
          if (resourceList(statement).includes('*')) {
            expect(actionsOf(statement).every((action) => action.startsWith('xray:'))).toBe(true);
          }
        }
      }
    });

    it("lets the state machine invoke exactly the team functions and its pattern's control functions", () => {
      const [, machine] = onlyOne(resourcesOf(template, 'AWS::StepFunctions::StateMachine'));
      const invoke = statementsOfRole(template, referencedIds(machine.Properties?.RoleArn)[0] ?? '').filter(
        (statement) => actionsOf(statement).some((action) => action.startsWith('lambda:')),
      );
      expect(invoke.flatMap(actionsOf).every((action) => action === 'lambda:InvokeFunction')).toBe(true);
      const invoked = new Set(invoke.flatMap((statement) => referencedIds(statement.Resource)));
      // begin-task, rollback-task and request-approval; not the auction's control functions.
      expect(PATTERNS[team.pattern].controlFunctions).toEqual(COMMON_CONTROL_FUNCTIONS);
      const patternControl = PATTERNS[team.pattern].controlFunctions.map(controlIdOf);
      expect(new Set(patternControl).size).toBe(COMMON_CONTROL_FUNCTIONS.length);
      expect([...invoked].sort()).toEqual([...Object.keys(functions), ...patternControl].sort());
      for (const statement of invoke) {
        for (const resource of resourceList(statement)) expect(resource).not.toBe('*');
      }
    });
  });

  describe('Feature: control functions', () => {
    /** The control function whose logical id contains `idPart`, and its table actions (over all its statements, each once). */
    function controlFunction(idPart: string): { properties: Record<string, unknown>; tableActions: string[] } {
      const [, fn] = onlyOne(Object.fromEntries(Object.entries(controlFunctions).filter(([id]) => id.includes(idPart))));
      const dynamo = statementsOfRole(template, roleIdOf(fn)).filter((statement) => actionsOf(statement).some((a) => a.startsWith('dynamodb:')));
      return { properties: fn.Properties ?? {}, tableActions: [...new Set(dynamo.flatMap(actionsOf))].sort() };
    }

    it('adds one function per control function of the contract, each knowing the table', () => {
      expect(Object.keys(controlFunctions)).toHaveLength(CONTROL_FUNCTIONS.length);
      for (const fn of Object.values(controlFunctions)) {
        expect(fn.Properties).toMatchObject({ Runtime: 'nodejs22.x', TracingConfig: { Mode: 'Active' } });
        expect((fn.Properties?.Environment as { Variables: Record<string, unknown> }).Variables[ENV.tableName]).toEqual({ Ref: tableId });
      }
    });

    it('lets begin-task only put, update and get items', () => {
      expect(controlFunction('BeginTask').tableActions).toEqual(['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem']);
    });

    it('lets rollback-task only query, get, update and delete items (no put, no scan)', () => {
      expect(controlFunction('RollbackTask').tableActions).toEqual(['dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:UpdateItem']);
    });

    it('lets request-approval only update and get items (no put, no delete, no query)', () => {
      expect(controlFunction('RequestApproval').tableActions).toEqual(['dynamodb:GetItem', 'dynamodb:UpdateItem']);
    });

    it('lets open-auction only put, get and update items', () => {
      expect(controlFunction('OpenAuction').tableActions).toEqual(['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem']);
    });

    it('lets close-auction only get, query, update and put items (no delete, no scan)', () => {
      expect(controlFunction('CloseAuction').tableActions).toEqual(['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:UpdateItem']);
    });

    it("lets settle-award also delete items (a settled award's capacity lease), but not scan", () => {
      expect(controlFunction('SettleAward').tableActions).toEqual(['dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:UpdateItem']);
    });
  });

  describe('Feature: state machine', () => {
    it('is a STANDARD machine that logs ALL events, without execution data (issue 16: privacy by default), and traces with X-Ray', () => {
      const [, machine] = onlyOne(resourcesOf(template, 'AWS::StepFunctions::StateMachine'));
      expect(machine.Properties).toMatchObject({
        StateMachineType: 'STANDARD',
        LoggingConfiguration: { Level: 'ALL', IncludeExecutionData: false },
        TracingConfiguration: { Enabled: true },
      });
      const destination = (machine.Properties?.LoggingConfiguration as { Destinations: unknown[] }).Destinations;
      const [logGroupId] = referencedIds(destination);
      expect(template.Resources[logGroupId ?? '']?.Type).toBe('AWS::Logs::LogGroup');
    });

    it('substitutes every ${Name} of its ASL file, and nothing else', () => {
      const aslFiles = readdirSync(join(REPO_ROOT, 'statemachines')).filter((file) => file.endsWith('.asl.json'));
      const machines = Object.values(resourcesOf(template, 'AWS::StepFunctions::StateMachine'));
      expect(machines.length).toBeGreaterThan(0);
      for (const machine of machines) {
        const key = (machine.Properties?.DefinitionS3Location as { Key: string }).Key;
        const staged = readFileSync(join(assemblyDir, `asset.${key}`), 'utf8');
        // The staged asset is a verbatim copy of one of the ASL files on disk.
        const source = aslFiles.find((file) => readFileSync(join(REPO_ROOT, 'statemachines', file), 'utf8') === staged);
        expect(source, `asset ${key} matches no statemachines/*.asl.json`).toBeDefined();
        const text = readFileSync(join(REPO_ROOT, 'statemachines', source ?? ''), 'utf8');
        const substitutions = machine.Properties?.DefinitionSubstitutions as Record<string, unknown>;
        expect(Object.keys(substitutions).sort()).toEqual(placeholdersIn(text));
        const rendered = applySubstitutions(
          text,
          Object.fromEntries(Object.entries(substitutions).map(([name, value]) => [name, renderIntrinsic(value)])),
        );
        expect(placeholdersIn(rendered)).toEqual([]);
        expect(() => JSON.parse(rendered) as unknown).not.toThrow();
      }
    });

    it('fills the substitutions the pattern computes for the team', () => {
      const [, machine] = onlyOne(resourcesOf(template, 'AWS::StepFunctions::StateMachine'));
      const logicalIdOfAgent = Object.fromEntries(Object.entries(functions).map(([id, fn]) => [agentIdOf(fn), id]));
      const expected = PATTERNS[team.pattern].substitutions(team, {
        agent: (agentId) => `<${logicalIdOfAgent[agentId] ?? '?'}.Arn>`,
        control: (name) => `<${controlIdOf(name)}.Arn>`,
      });
      const actual = machine.Properties?.DefinitionSubstitutions as Record<string, unknown>;
      expect(Object.fromEntries(Object.entries(actual).map(([name, value]) => [name, renderIntrinsic(value)]))).toEqual(
        expected,
      );
    });
  });

  describe('Feature: log groups', () => {
    it('gives every function and the state machine its own log group with retention', () => {
      const logGroups = resourcesOf(template, 'AWS::Logs::LogGroup');
      expect(Object.keys(logGroups)).toHaveLength(team.agents.length + Object.keys(controlFunctions).length + EVENT_TRIGGER_FUNCTIONS + 1);
      for (const logGroup of Object.values(logGroups)) {
        expect(logGroup.Properties?.RetentionInDays).toBe(30);
        expect(logGroup.DeletionPolicy).toBe('Retain');
      }
      for (const fn of Object.values(functions)) {
        const [logGroupId] = referencedIds((fn.Properties?.LoggingConfig as { LogGroup: unknown }).LogGroup);
        expect(logGroups[logGroupId ?? '']).toBeDefined();
      }
    });
  });

  describe('Feature: outputs', () => {
    it('outputs the table name and the state machine ARN of each team', () => {
      const [machineId] = onlyOne(resourcesOf(template, 'AWS::StepFunctions::StateMachine'));
      expect(template.Outputs).toMatchObject({
        CheckpointTableName: { Value: { Ref: tableId } },
        TelecomSupportStateMachineArn: { Value: { Ref: machineId } },
      });
    });
  });

  describe('Feature: scripted model provider', () => {
    it('sets the provider variable and grants no Bedrock access', () => {
      const scripted = synthesize([team], 'scripted').template;
      const agents = Object.values(resourcesOf(scripted, 'AWS::Lambda::Function')).filter((fn) => ENV.agent in variablesOf(fn));
      expect(agents).toHaveLength(team.agents.length);
      for (const fn of agents) {
        expect(variablesOf(fn)[ENV.modelProvider]).toBe('scripted');
        const actions = statementsOfRole(scripted, roleIdOf(fn)).flatMap(actionsOf);
        expect(actions.filter((action) => action.startsWith('bedrock:'))).toEqual([]);
      }
    });
  });

  describe('Feature: input checks', () => {
    it('deploys a system prompt too long for the 4 KB environment (it travels with the code), and refuses one over MAX_SYSTEM_PROMPT_CHARS in the team schema', () => {
      const withPrompt = (systemPrompt: string) => ({ ...team, agents: team.agents.map((agent) => (agent.id === 'billing' ? { ...agent, systemPrompt } : agent)) });
      const chatty = parseTeam(withPrompt('Explain every charge. '.repeat(200)), 'test');
      expect(() => buildApp({ teams: [chatty] })).not.toThrow();
      expect(() => parseTeam(withPrompt('x'.repeat(MAX_SYSTEM_PROMPT_CHARS + 1)), 'test')).toThrow(/agents\.1\.systemPrompt/);
    });

    it('counts the workers of the supervisor roster towards the limit', () => {
      const crowded = parseTeam(
        {
          ...team,
          agents: [
            ...team.agents,
            ...Array.from({ length: 20 }, (_, index) => ({
              ...workersOf(team)[0],
              id: `worker-${index}`,
              scriptedReply: undefined,
            })),
          ],
        },
        'test',
      );
      expect(() => buildApp({ teams: [crowded] })).toThrow(/Agent "supervisor"/);
    });

    it('rejects an unknown model provider and duplicate team names', () => {
      expect(() => buildApp({ teams: [team], modelProvider: 'openai' as never })).toThrow(/modelProvider/);
      expect(() => buildApp({ teams: [team, team] })).toThrow(/Two teams are named "telecom-support"/);
    });
  });
});
