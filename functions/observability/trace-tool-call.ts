/**
 * Each tool call an agent runs as an X-Ray subsegment of its invocation (`### tool <name>`), with
 * the tool's name and whether it succeeded as annotations (searchable in X-Ray), its duration as
 * the subsegment's, and a failed call flagged as an error. The input and the result stay out of the
 * trace, as they stay out of the logs: they may hold customer data. A call restored from the journal
 * runs nothing and gets no subsegment. With tracing off (locally, in tests) it only runs the call.
 *
 * @example
 * ```ts
 * const outcome = await traceToolCall(tracer, 'lookup_invoice', () => runTheTool());
 * ```
 */
import type { Tracer } from '@aws-lambda-powertools/tracer';

/** What a traced call must say: whether it failed. */
export interface TracedOutcome {
  isError: boolean;
}

export async function traceToolCall<T extends TracedOutcome>(tracer: Pick<Tracer, 'isTracingEnabled' | 'getSegment' | 'setSegment'>, name: string, work: () => Promise<T>): Promise<T> {
  const parent = tracer.isTracingEnabled() ? tracer.getSegment() : undefined;
  if (!parent) return work();
  const subsegment = parent.addNewSubsegment(`### tool ${name}`);
  tracer.setSegment(subsegment);
  try {
    const outcome = await work();
    subsegment.addAnnotation('tool', name);
    subsegment.addAnnotation('ok', !outcome.isError);
    if (outcome.isError) subsegment.addErrorFlag();
    return outcome;
  } catch (error) {
    subsegment.addAnnotation('tool', name);
    subsegment.addAnnotation('ok', false);
    subsegment.addError(error as Error);
    throw error;
  } finally {
    subsegment.close();
    tracer.setSegment(parent);
  }
}
