/**
 * Custom handlers: an agent whose definition names `handler: ./agents/my-agent.ts` runs its own
 * code for the steps that module defines, instead of the generic model-driven step. Everything
 * around the step stays: the event is checked against the step's schema before, the result
 * against the step's result schema and invariants after, and the middlewares (checkpoint, budget,
 * verification, leases, metrics) run as for any agent. Steps the module leaves out run the generic way.
 *
 * @example
 * ```ts
 * // agents/billing.ts, named by the team definition's `handler: ./agents/billing.ts`
 * export default defineAgentHandler({
 *   work: async (event, { config, model }) => {
 *     const reply = await model.converse({ ... });
 *     return { agentId: config.agent.id, status: 'ANSWERED', answer: reply.text, usage: reply.usage };
 *   },
 * });
 * ```
 */
import type { AgentRole } from '../core/contract.ts';
import { importUserModule } from '../core/bundled-modules.ts';
import { ConfigurationError } from '../core/errors.ts';
import type { StepContext } from './steps/step-context.ts';
import type { StepEventBase, StepResultBase } from './steps/step-definition.ts';
import { AGENT_STEPS } from './steps/index.ts';

/**
 * One step of a custom handler. The event has passed the step's event schema; the result must pass
 * its result schema (`legion validate` and the step's TSDoc in functions/patterns say what each holds).
 */
export type CustomStep = (event: StepEventBase & Record<string, unknown>, context: StepContext) => Promise<StepResultBase>;

/** A custom handler's steps, by step name (`work`, `classify`, `stage`, ...). */
export type CustomSteps = Readonly<Record<string, CustomStep>>;

/** Declares a custom handler's steps; it only types them: the loader checks what the module exports. */
export function defineAgentHandler(steps: CustomSteps): CustomSteps {
  return steps;
}

const loaded = new Map<string, Promise<CustomSteps>>();

/**
 * The steps a handler module defines (its default export), checked against the agent's role.
 * Loaded once per module.
 *
 * @throws {ConfigurationError} when the module cannot be loaded, has no default export of steps, or names a step its role does not run
 */
export function loadCustomSteps(path: string, role: AgentRole): Promise<CustomSteps> {
  const key = `${role}:${path}`;
  let steps = loaded.get(key);
  if (!steps) {
    steps = importUserModule(path, 'handler module').then((exports) => checkSteps(exports.default, path, role));
    // A module that failed to load is tried again on the next step, not remembered broken.
    steps.catch(() => loaded.delete(key));
    loaded.set(key, steps);
  }
  return steps;
}

function checkSteps(value: unknown, path: string, role: AgentRole): CustomSteps {
  if (typeof value !== 'object' || value === null) {
    throw new ConfigurationError([`handler module ${path} must export default defineAgentHandler({ <step>: async (event, context) => result })`]);
  }
  const allowed = AGENT_STEPS.filter((definition) => definition.roles.includes(role)).map((definition) => definition.step);
  const problems = Object.entries(value).flatMap(([step, run]) => [
    ...(allowed.includes(step) ? [] : [`step "${step}" is not one a ${role} runs (${allowed.join(', ')})`]),
    ...(typeof run === 'function' ? [] : [`step "${step}" is not a function`]),
  ]);
  if (problems.length > 0) throw new ConfigurationError(problems.map((problem) => `handler module ${path}: ${problem}`));
  return value as CustomSteps;
}
