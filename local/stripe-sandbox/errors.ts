/** Stripe-shaped API errors: `{ error: { type, code?, decline_code?, message, param?, … } }`. */

export type ErrorType = 'invalid_request_error' | 'card_error' | 'idempotency_error' | 'api_error';

export interface ErrorBody {
  type: ErrorType;
  message: string;
  code?: string;
  decline_code?: string;
  param?: string;
  doc_url?: string;
  charge?: string;
  payment_intent?: unknown;
  payment_method?: unknown;
}

/**
 * Thrown by handlers; the server turns it into the response. `replayable` is false for errors
 * raised before the endpoint starts executing (bad parameters): Stripe saves no idempotent
 * result for those, so a corrected retry with the same key runs.
 */
export class ApiError extends Error {
  readonly body: ErrorBody;

  constructor(
    readonly status: number,
    body: ErrorBody,
    readonly replayable = true,
  ) {
    super(body.message);
    this.body = body.code && !body.doc_url ? { ...body, doc_url: docUrl(body.code) } : body;
  }
}

const docUrl = (code: string): string => `https://stripe.com/docs/error-codes/${code.replaceAll('_', '-')}`;

interface InvalidOptions {
  param?: string;
  code?: string;
  status?: number;
  /** Parameter problems are detected before execution and never saved for idempotency. */
  beforeExecution?: boolean;
  payment_intent?: unknown;
}

export function invalidRequest(message: string, options: InvalidOptions = {}): ApiError {
  const { param, code, status = 400, beforeExecution = false, payment_intent } = options;
  return new ApiError(
    status,
    { type: 'invalid_request_error', message, ...(code && { code }), ...(param && { param }), ...(payment_intent ? { payment_intent } : {}) },
    !beforeExecution,
  );
}

/** A parameter problem: 400, not saved for idempotency. */
export const badParam = (message: string, param: string, code?: string): ApiError => invalidRequest(message, { param, code, beforeExecution: true });

/** `No such customer: 'cus_x'`: 404 for the object in the path, 400 for one named in a parameter. */
export function noSuch(resource: string, id: string, param: string, inPath: boolean): ApiError {
  return invalidRequest(`No such ${resource}: '${id}'`, {
    param,
    code: 'resource_missing',
    status: inPath ? 404 : 400,
    beforeExecution: !inPath,
  });
}
