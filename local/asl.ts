/**
 * The few shapes of an ASL definition the local runtime reads itself (the interpreter reads the
 * rest), and a walk over every state, including those inside Map and Parallel states.
 */
export interface AslState {
  Type: string;
  Resource?: string;
  Parameters?: Record<string, unknown>;
  Iterator?: AslMachine;
  ItemProcessor?: AslMachine;
  Branches?: AslMachine[];
}

export interface AslMachine {
  States: Record<string, AslState>;
}


/** Every state of a machine, including those inside Map and Parallel states. */
export function* allStates(machine: AslMachine): Generator<[string, AslState]> {
  for (const [name, state] of Object.entries(machine.States)) {
    yield [name, state];
    const nested = [state.Iterator, state.ItemProcessor, ...(state.Branches ?? [])].filter((m): m is AslMachine => m !== undefined);
    for (const child of nested) yield* allStates(child);
  }
}

