/** The drills' view of the API: plain HTTP against the local host, answers kept whole (status, headers, text, JSON). */

const PROBLEM_CONTENT_TYPE = 'application/problem+json';

export interface Answer {
  status: number;
  headers: Headers;
  text: string;
  /** The body parsed as JSON; undefined when it was empty or not JSON. */
  json: unknown;
}

export interface CallOptions {
  /** Sent as `Authorization: Bearer …`; none when undefined. */
  token?: string;
  /** Sent as JSON, or as is when it is a string. */
  body?: unknown;
  /** Content-Type of a body (JSON unless said otherwise). */
  contentType?: string;
  idempotencyKey?: string;
  headers?: Record<string, string>;
}

/** Calls the API under one base URL (`…/api`). */
export class ApiClient {
  constructor(readonly baseUrl: string) {}

  async call(method: string, path: string, options: CallOptions = {}): Promise<Answer> {
    const headers: Record<string, string> = { ...options.headers };
    if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
    if (options.idempotencyKey !== undefined) headers['idempotency-key'] = options.idempotencyKey;
    let body: string | undefined;
    if (options.body !== undefined && method !== 'GET' && method !== 'HEAD') {
      body = typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
      if (options.contentType !== undefined || headers['content-type'] === undefined) headers['content-type'] = options.contentType ?? 'application/json';
    }
    const response = await fetch(`${this.baseUrl}${path}`, { method, headers, body });
    const text = await response.text();
    return { status: response.status, headers: response.headers, text, json: parseJson(text) };
  }

  /** A call whose answer must be `expected`; anything else throws with what came back. */
  async expect<T>(expected: number, method: string, path: string, options: CallOptions = {}): Promise<T> {
    const answer = await this.call(method, path, options);
    if (answer.status !== expected) throw new Error(`${method} ${path} answered ${answer.status}, expected ${expected}: ${answer.text.slice(0, 300)}`);
    return answer.json as T;
  }
}

function parseJson(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** Whether an answer is an RFC 9457 problem: the content type, and `type`, `title`, `detail` and the answer's own `status`. */
export function isProblem(answer: Answer): boolean {
  if (answer.headers.get('content-type') !== PROBLEM_CONTENT_TYPE) return false;
  const body = answer.json as Record<string, unknown> | undefined;
  return (
    typeof body === 'object' &&
    body !== null &&
    typeof body.type === 'string' &&
    typeof body.title === 'string' &&
    typeof body.detail === 'string' &&
    body.status === answer.status
  );
}
