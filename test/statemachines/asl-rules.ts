/**
 * The rules every `statemachines/*.asl.json` must follow (DESIGN.md, Principles), as a function that
 * lists every problem of one parsed definition. The local interpreter silently mis-runs JSONata and
 * `Assign`, and a Task without timeout, retry or catch fails in ways nobody chose.
 */
import {
  CONSISTENCY_ERRORS,
  INFRASTRUCTURE_ERRORS,
  LAMBDA_INVOKE_RESOURCE,
  LAMBDA_SERVICE_ERRORS,
  RETRYABLE_INFRASTRUCTURE_ERRORS,
} from '../../functions/core/contract.ts';
import { NESTED_EXECUTION_RETRY_ERRORS, START_EXECUTION_SYNC_RESOURCE } from '../../functions/patterns/hierarchical/contract.ts';

/** Payload `step`s of the control functions; every other Lambda Task is an agent step. */
const CONTROL_STEPS = ['begin', 'rollback', 'request-approval', 'record-detection', 'open-auction', 'close-auction', 'settle-award'];

/** Choice variables of the states every pattern shares (CheckApproval reads the enum begin-task answers). */
const SHARED_CHOICE_VARIABLES = ['$.approval.status'];

/** A Task that waits for its callback token; its function must be given the token. */
const WAIT_FOR_TASK_TOKEN = `${LAMBDA_INVOKE_RESOURCE}.waitForTaskToken`;

export interface AslRuleOptions {
  /** JSONPaths Choice states may read: schema-validated enums only, never free model output. */
  allowedChoiceVariables: readonly string[];
  /** JSONPaths a Lambda Task may take its `FunctionName.$` (a nested-execution Task its `StateMachineArn.$`) from, besides a `${Placeholder}`. */
  allowedFunctionNamePaths: readonly string[];
}

type Json = Record<string, unknown>;

/** Fields of the JSONata query language and of variables, which the local runtime does not support. */
const FORBIDDEN_FIELDS = ['Assign', 'Output', 'Arguments'] as const;

const isObject = (value: unknown): value is Json => value !== null && typeof value === 'object' && !Array.isArray(value);

/** Lists the problems of one state machine definition; an empty list means it follows every rule. */
export function lintAsl(definition: unknown, options: AslRuleOptions): string[] {
  const problems: string[] = [];
  if (!isObject(definition)) return ['the definition is not a JSON object'];
  if (typeof definition.TimeoutSeconds !== 'number') problems.push('the state machine has no TimeoutSeconds');
  lintScope(definition, '', options, problems);
  return problems;
}

/** One `StartAt` + `States` scope: the machine, a Map's ItemProcessor/Iterator, or a Parallel branch. */
function lintScope(scope: Json, where: string, options: AslRuleOptions, problems: string[]): void {
  const at = (name: string): string => `${where}${name}`;
  checkQueryLanguage(scope, where || '(top level)', problems);
  const states = scope.States;
  if (!isObject(states)) {
    problems.push(`${where || '(top level)'}: no States`);
    return;
  }
  const names = new Set(Object.keys(states));
  const target = (from: string, next: unknown): void => {
    if (typeof next !== 'string' || !names.has(next)) {
      problems.push(`${from}: target ${JSON.stringify(next)} is not a state of its scope`);
    }
  };
  target(`${where || '(top level)'} StartAt`, scope.StartAt);

  for (const [name, value] of Object.entries(states)) {
    if (!isObject(value)) {
      problems.push(`${at(name)}: not an object`);
      continue;
    }
    const state = value;
    checkQueryLanguage(state, at(name), problems);
    for (const field of FORBIDDEN_FIELDS) {
      if (field in state) problems.push(`${at(name)}: has ${field} (JSONata/variables; use JSONPath fields)`);
    }
    if (state.Next !== undefined) target(`${at(name)} Next`, state.Next);
    for (const [index, catcher] of asArray(state.Catch).entries()) {
      target(`${at(name)} Catch[${index}]`, isObject(catcher) ? catcher.Next : undefined);
    }

    if (state.Type === 'Task' || state.Type === 'Map' || state.Type === 'Parallel') lintGracefulCatch(state, states, at(name), problems);

    switch (state.Type) {
      case 'Task':
        lintTask(name, state, at(name), options, problems);
        break;
      case 'Choice':
        for (const [index, rule] of asArray(state.Choices).entries()) {
          target(`${at(name)} Choices[${index}]`, isObject(rule) ? rule.Next : undefined);
          for (const variable of choiceVariables(rule)) {
            if (!options.allowedChoiceVariables.includes(variable) && !SHARED_CHOICE_VARIABLES.includes(variable)) {
              problems.push(`${at(name)}: Choice reads ${variable}, which is not an allowed enum path`);
            }
          }
        }
        if (state.Default !== undefined) target(`${at(name)} Default`, state.Default);
        break;
      case 'Map': {
        const processor = state.ItemProcessor ?? state.Iterator;
        if (isObject(processor)) lintScope(processor, `${at(name)}/`, options, problems);
        else problems.push(`${at(name)}: Map without ItemProcessor`);
        break;
      }
      case 'Parallel':
        for (const [index, branch] of asArray(state.Branches).entries()) {
          if (isObject(branch)) lintScope(branch, `${at(name)}[${index}]/`, options, problems);
        }
        break;
      default:
        break;
    }
  }
}

function lintTask(name: string, state: Json, where: string, options: AslRuleOptions, problems: string[]): void {
  if (typeof state.TimeoutSeconds !== 'number') problems.push(`${where}: Task without TimeoutSeconds`);
  const retriedErrors = new Set(
    asArray(state.Retry).flatMap((retrier) => (isObject(retrier) ? asArray(retrier.ErrorEquals) : [])),
  );
  // A nested execution calls Step Functions, not Lambda: it retries a throttled start instead.
  const nested = state.Resource === START_EXECUTION_SYNC_RESOURCE;
  const mustRetry: readonly string[] = nested ? NESTED_EXECUTION_RETRY_ERRORS : LAMBDA_SERVICE_ERRORS;
  const unretried = mustRetry.filter((error) => !retriedErrors.has(error) && !retriedErrors.has('States.ALL'));
  if (nested) lintResourcePath(state, 'StateMachineArn', where, options, problems);
  if (unretried.length > 0) problems.push(`${where}: Retry does not cover ${unretried.join(', ')}`);
  if (asArray(state.Catch).length === 0) problems.push(`${where}: Task without Catch`);

  if (typeof state.Resource === 'string' && state.Resource.startsWith(LAMBDA_INVOKE_RESOURCE)) {
    const parameters = isObject(state.Parameters) ? state.Parameters : {};
    const payload = isObject(parameters.Payload) ? parameters.Payload : {};
    if (payload.stateName !== name) {
      problems.push(`${where}: Payload.stateName is ${JSON.stringify(payload.stateName)}, not the state's name`);
    }
    lintThrottlingRetry(state, where, problems);
    if (!CONTROL_STEPS.includes(String(payload.step))) {
      lintAgentCatch(state, where, retriedErrors, problems);
      // Inside a Map, Escalate is out of reach: the iteration's own failure handling takes it.
      if (!where.includes('/')) lintBudgetCatch(state, where, problems);
    }
    if (state.Resource === WAIT_FOR_TASK_TOKEN && payload['taskToken.$'] !== '$$.Task.Token') {
      problems.push(`${where}: a .waitForTaskToken Task must pass "taskToken.$": "$$.Task.Token" in its Payload`);
    }
    const functionName = parameters.FunctionName;
    const functionNamePath = parameters['FunctionName.$'];
    if (typeof functionName === 'string') {
      if (!/^\$\{[A-Za-z0-9_]+\}$/.test(functionName)) {
        problems.push(`${where}: FunctionName ${functionName} is not a \${Placeholder} filled at deploy time`);
      }
    } else if (typeof functionNamePath === 'string') {
      if (!options.allowedFunctionNamePaths.includes(functionNamePath)) {
        problems.push(`${where}: FunctionName.$ reads ${functionNamePath}, which is not an allowed path`);
      }
    } else {
      problems.push(`${where}: Lambda Task without FunctionName`);
    }
  }
}

/** A nested execution's state machine comes from a `${Placeholder}` or an allowed path (a roster), never from model text. */
function lintResourcePath(state: Json, field: string, where: string, options: AslRuleOptions, problems: string[]): void {
  const parameters = isObject(state.Parameters) ? state.Parameters : {};
  const literal = parameters[field];
  const path = parameters[`${field}.$`];
  if (typeof literal === 'string') {
    if (!/^\$\{[A-Za-z0-9_]+\}$/.test(literal)) problems.push(`${where}: ${field} ${literal} is not a \${Placeholder} filled at deploy time`);
  } else if (typeof path !== 'string' || !options.allowedFunctionNamePaths.includes(path)) {
    problems.push(`${where}: ${field}.$ reads ${String(path)}, which is not an allowed path`);
  }
}

/** An agent step's inconsistent result must reach a rollback: caught by name (before States.ALL), never retried in place. */
function lintAgentCatch(state: Json, where: string, retriedErrors: Set<unknown>, problems: string[]): void {
  const catchers = asArray(state.Catch).map((catcher) => (isObject(catcher) ? asArray(catcher.ErrorEquals) : []));
  const catchAll = catchers.findIndex((errors) => errors.includes('States.ALL'));
  for (const error of CONSISTENCY_ERRORS) {
    const index = catchers.findIndex((errors) => errors.includes(error));
    if (index === -1 || (catchAll !== -1 && catchAll < index)) problems.push(`${where}: no Catch for ${error} ahead of States.ALL (it must lead to a rollback)`);
    if (retriedErrors.has(error)) problems.push(`${where}: retries ${error} in place instead of rolling back`);
  }
}

/**
 * Every Task that invokes a Legion Lambda (agent or control function) retries throttling
 * (RETRYABLE_INFRASTRUCTURE_ERRORS, which both kinds raise for DynamoDB throttling and lost
 * transaction races) with backoff, whatever its Catch leads to.
 */
function lintThrottlingRetry(state: Json, where: string, problems: string[]): void {
  const retriers = asArray(state.Retry).filter(isObject);
  for (const error of RETRYABLE_INFRASTRUCTURE_ERRORS) {
    const retrier = retriers.find((candidate) => asArray(candidate.ErrorEquals).includes(error));
    if (!retrier || typeof retrier.MaxAttempts !== 'number' || retrier.MaxAttempts < 1 || typeof retrier.BackoffRate !== 'number' || retrier.BackoffRate < 1.5) {
      problems.push(`${where}: no Retry with backoff for ${error} (every Task that invokes a Legion Lambda has one)`);
    }
  }
}

/**
 * Whether entering a state ends the run failed under the error it was given: a Fail state with an
 * `ErrorPath`, or Pass states leading to one. A Fail state with a fixed `Error` (`StageFailed`)
 * renames the error, so it does not count: a hierarchical parent would read the new name.
 */
function failsRun(name: unknown, states: Json, depth = 0): boolean {
  const state = typeof name === 'string' ? states[name] : undefined;
  if (!isObject(state) || depth > 20) return false;
  if (state.Type === 'Fail') return typeof state.ErrorPath === 'string';
  return state.Type === 'Pass' && failsRun(state.Next, states, depth + 1);
}

/**
 * A Catch of States.ALL into a state that does not fail the run is a graceful path for an agent
 * that failed (a worker the synthesis names as missing, a peer sitting a round out, a runner-up).
 * An infrastructure failure must never take it, or the run succeeds with a part silently missing:
 * a Catch of every INFRASTRUCTURE_ERRORS name comes first and leads to a Fail state, and a Task
 * retries RETRYABLE_INFRASTRUCTURE_ERRORS (throttling) with backoff before that. A States.ALL
 * into a Fail state with a fixed Error name (an agent failure's name: `StageFailed`) counts as a
 * graceful path too, since a hierarchical parent takes that name for the agents' failure. A nested
 * execution is exempt: its child's errors all arrive as States.TaskFailed, and the parent's Review
 * sorts them (AGENT_FAILURE_ERRORS).
 */
function lintGracefulCatch(state: Json, states: Json, where: string, problems: string[]): void {
  if (state.Resource === START_EXECUTION_SYNC_RESOURCE) return;
  const catchers = asArray(state.Catch).filter(isObject);
  const catchAll = catchers.findIndex((catcher) => asArray(catcher.ErrorEquals).includes('States.ALL'));
  const graceful = catchers[catchAll]?.Next;
  // A missing target is reported by the scope's target check.
  if (typeof graceful !== 'string' || !(graceful in states) || failsRun(graceful, states)) return;
  const infrastructure = catchers.findIndex((catcher) => INFRASTRUCTURE_ERRORS.every((error) => asArray(catcher.ErrorEquals).includes(error)));
  if (infrastructure === -1 || infrastructure > catchAll) {
    problems.push(`${where}: States.ALL leads to ${graceful}, which does not fail the run, without a Catch of every infrastructure error ahead of it (${INFRASTRUCTURE_ERRORS.join(', ')})`);
  } else {
    const next = catchers[infrastructure]?.Next;
    if (typeof next === 'string' && next in states && !failsRun(next, states)) problems.push(`${where}: the infrastructure errors' Catch leads to ${next}, which does not fail the run`);
  }
  // A Lambda Task's throttling Retry is checked for every Lambda Task (lintThrottlingRetry).
  if (state.Type !== 'Task' || (typeof state.Resource === 'string' && state.Resource.startsWith(LAMBDA_INVOKE_RESOURCE))) return;
  const retriers = asArray(state.Retry).filter(isObject);
  for (const error of RETRYABLE_INFRASTRUCTURE_ERRORS) {
    const retrier = retriers.find((candidate) => asArray(candidate.ErrorEquals).includes(error));
    if (!retrier || typeof retrier.BackoffRate !== 'number' || retrier.BackoffRate < 1.5) problems.push(`${where}: no Retry with backoff for ${error} ahead of its graceful path`);
  }
}

/** A top-level agent Task sends a refused model call (over a token budget) to the human: Escalate, ahead of States.ALL. */
function lintBudgetCatch(state: Json, where: string, problems: string[]): void {
  const catchers = asArray(state.Catch).filter(isObject);
  const budget = catchers.findIndex((catcher) => asArray(catcher.ErrorEquals).includes('BudgetExceededError'));
  const catchAll = catchers.findIndex((catcher) => asArray(catcher.ErrorEquals).includes('States.ALL'));
  if (budget === -1 || (catchAll !== -1 && catchAll < budget) || catchers[budget]?.Next !== 'Escalate') {
    problems.push(`${where}: no Catch for BudgetExceededError leading to Escalate ahead of States.ALL`);
  }
}

function checkQueryLanguage(node: Json, where: string, problems: string[]): void {
  if (node.QueryLanguage !== undefined && node.QueryLanguage !== 'JSONPath') {
    problems.push(`${where}: QueryLanguage ${JSON.stringify(node.QueryLanguage)} (JSONPath only)`);
  }
}

/** The `Variable`s a Choice rule reads, through And/Or/Not. */
function choiceVariables(rule: unknown): string[] {
  if (!isObject(rule)) return [];
  const own = typeof rule.Variable === 'string' ? [rule.Variable] : [];
  const nested = [...asArray(rule.And), ...asArray(rule.Or), ...(rule.Not === undefined ? [] : [rule.Not])];
  const pathOperands = Object.entries(rule)
    .filter(([key, value]) => key.endsWith('Path') && typeof value === 'string')
    .map(([, value]) => value as string);
  return [...own, ...pathOperands, ...nested.flatMap(choiceVariables)];
}

function asArray(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}
