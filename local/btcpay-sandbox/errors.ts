/**
 * Greenfield's two error shapes: an API error `{code, message}` (400 by default, 401, 403, 404, …)
 * and a validation error, 422 with `[{path, message}]`. Paths are what BTCPay puts there: the
 * model property (`Amount`, `Checkout.Expiration`, `RefundVariant`) for its own checks, the JSON
 * path (`amount`, `checkout.expirationMinutes`) when the body cannot even be read into the model.
 */

export interface ValidationIssue {
  path: string;
  message: string;
}

export class GreenfieldError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
  }

  body(): Record<string, unknown> {
    return { ...this.extra, code: this.code, message: this.message };
  }
}

export class ValidationError extends Error {
  constructor(readonly issues: ValidationIssue[]) {
    super(issues.map((issue) => `${issue.path}: ${issue.message}`).join('; '));
  }
}

export const invoiceNotFound = (): GreenfieldError => new GreenfieldError(404, 'invoice-not-found', 'The invoice was not found');

/** What BTCPay's authentication handler answers without a usable key. */
export const unauthenticated = (reason = 'Authentication is required for accessing this endpoint'): GreenfieldError =>
  new GreenfieldError(401, 'unauthenticated', reason);

/** What BTCPay answers when the key lacks the policy (or is for another store). */
export const missingPermission = (policy: string): GreenfieldError =>
  new GreenfieldError(
    403,
    'missing-permission',
    `Insufficient API Permissions. Please use an API key with permission "${policy}". You can create an API key in your account's settings / Api Keys.`,
    { missingPermission: policy },
  );

/** Collects validation issues; throws them all at once, as ModelState does. */
export class Issues {
  private readonly list: ValidationIssue[] = [];

  add(path: string, message: string): void {
    this.list.push({ path, message });
  }

  get any(): boolean {
    return this.list.length > 0;
  }

  throwIfAny(): void {
    if (this.list.length > 0) throw new ValidationError([...this.list]);
  }
}

/** Sandbox-only control routes answer with the same `{code, message}` shape. */
export const sandboxError = (status: number, code: string, message: string): GreenfieldError => new GreenfieldError(status, code, message);
