/** The outcome of an operation whose failures are expected: the caller must look at `ok` (STYLE habit 4). */
export type Result<T, E> = { ok: true; value: T } | { ok: false; error: E };

/** A successful result. */
export function ok<T>(value: T): { ok: true; value: T } {
  return { ok: true, value };
}

/** A failed result. */
export function err<E>(error: E): { ok: false; error: E } {
  return { ok: false, error };
}

/** One reason an input was refused: where (dotted path, as in problem+json `errors[]`) and why. */
export interface Issue {
  path: string;
  message: string;
}

/** Zod issues as domain `Issue`s, so callers of the domain never need zod's types. */
export function issuesOf(error: { issues: readonly { path: readonly PropertyKey[]; message: string }[] }): Issue[] {
  return error.issues.map((issue) => ({ path: issue.path.map(String).join('.'), message: issue.message }));
}
