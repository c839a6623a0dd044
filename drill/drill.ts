import type { DrillContext } from './context';

/** What a drill reports: its tries, how many kept the invariant, how many broke it, and a line on what it did. */
export interface DrillResult {
  tried: number;
  held: number;
  broken: number;
  /** One line for the table: what was tried, and how. */
  notes: string[];
  /** Every broken try with what it broke (printed under the table). */
  failures: string[];
}

/** One fault drill: provokes a fault against the running system and checks an invariant afterwards. */
export interface Drill {
  name: string;
  run(ctx: DrillContext): Promise<DrillResult>;
}

/** Records a violated invariant inside a try; returns the condition so a try can stop early. */
export type Check = (condition: boolean, violation: string) => boolean;

/**
 * Counts the tries of a drill. A try holds when its body returns without a violated check and
 * without throwing; anything else breaks it, with the reason kept for the report.
 */
export class Tally {
  private tried = 0;
  private held = 0;
  private readonly notes: string[] = [];
  private readonly failures: string[] = [];

  /** Runs one try (tries may run concurrently); resolves whether it held. */
  async attempt(label: string, body: (check: Check) => Promise<void>): Promise<boolean> {
    this.tried += 1;
    const violations: string[] = [];
    const check: Check = (condition, violation) => {
      if (!condition) violations.push(violation);
      return condition;
    };
    try {
      await body(check);
    } catch (error) {
      violations.push(`threw ${describeError(error)}`);
    }
    if (violations.length === 0) {
      this.held += 1;
      return true;
    }
    this.failures.push(`${label}: ${violations.join('; ')}`);
    return false;
  }

  note(text: string): void {
    this.notes.push(text);
  }

  result(): DrillResult {
    return { tried: this.tried, held: this.held, broken: this.tried - this.held, notes: [...this.notes], failures: [...this.failures] };
  }
}

/** An error as one line: its message, and the cause's when there is one. */
export function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? ` (cause: ${error.cause.message})` : '';
  return `${error.message}${cause}`;
}
