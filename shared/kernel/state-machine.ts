/**
 * A status machine as data: the edges a status may take, and a refusal as a value. Every aggregate
 * with a life cycle (booking, finding, order, payment) declares one; use cases ask it before they
 * change a status, and an HTTP handler names `allowedFrom` when it refuses (409).
 */
export interface StateMachine<S extends string> {
  /** The machine's name, kept in every history row it writes (`booking`, `order`, `payment`). */
  readonly name: string;
  /** Every status, in the order a subject normally passes through them. */
  readonly states: readonly S[];
  /** The edges: `transitions[from]` lists where `from` may go. */
  readonly transitions: Readonly<Record<S, readonly S[]>>;
}

/** Why a status may not move: it is there already (a repeat), or the machine has no such edge. */
export type TransitionRefusal<S extends string> = { code: 'ALREADY_IN_STATE'; from: S; to: S } | { code: 'FORBIDDEN_TRANSITION'; from: S; to: S };

/** Declares a machine; every status must be listed as a key, so a forgotten one does not compile. */
export function defineMachine<S extends string>(name: string, transitions: Readonly<Record<S, readonly S[]>>): StateMachine<S> {
  return { name, states: Object.keys(transitions) as S[], transitions };
}

/** Where `from` may go. */
export function allowedFrom<S extends string>(machine: StateMachine<S>, from: S): readonly S[] {
  return machine.transitions[from];
}

/** Whether the machine has the edge `from -> to`. */
export function canMove<S extends string>(machine: StateMachine<S>, from: S, to: S): boolean {
  return machine.transitions[from].includes(to);
}

/** Undefined when `from -> to` is allowed, else why not. */
export function refusal<S extends string>(machine: StateMachine<S>, from: S, to: S): TransitionRefusal<S> | undefined {
  if (from === to) return { code: 'ALREADY_IN_STATE', from, to };
  if (!canMove(machine, from, to)) return { code: 'FORBIDDEN_TRANSITION', from, to };
  return undefined;
}

/** The statuses no edge leaves: a subject there is finished. */
export function finalStates<S extends string>(machine: StateMachine<S>): S[] {
  return machine.states.filter((state) => machine.transitions[state].length === 0);
}
