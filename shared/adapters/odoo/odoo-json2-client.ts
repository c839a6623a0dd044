import * as z from 'zod';
import { fromNetworkFailure, fromPythonException, loneSurrogateAt, type OdooErrorDetails, OdooError, type OdooException, oneLine } from './odoo-errors';
import { type OdooCall, type OdooTransport, READ_ONLY_METHODS } from './odoo-transport';

/** Where and with which key to reach Odoo 19+ over JSON-2 (ODOO_URL, ODOO_PASSWORD as the API key, ODOO_DB). */
export interface OdooJson2Settings {
  /** Base URL, http or https; a path prefix is kept (`https://erp.example.com/odoo` → `/odoo/json/2/…`). */
  url: string;
  /** An API key of the integration user: `Authorization: bearer <key>`. */
  apiKey: string;
  /** `X-Odoo-Database`: needed only where one server hosts several databases and the host name does not pick one. */
  db?: string;
  /** Per request; default 15 s. */
  timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 15_000;

/** Odoo's JSON-2 error body (odoo/http.py `serialize_exception`). */
const errorBodySchema = z.object({ name: z.string().min(1), message: z.string(), arguments: z.unknown().optional(), debug: z.string().optional() });

/** Statuses that say "not now": a proxy or Odoo itself is overloaded, restarting or slow. */
const UNAVAILABLE_STATUSES = new Set([408, 425, 429, 502, 503, 504]);

// PostgreSQL cannot store a NUL in text: Odoo would refuse the value after a round trip, every time.
// biome-ignore lint/suspicious/noControlCharactersInRegex: NUL is what is being found.
const NUL = /\u0000/;

/** Where a value holds a NUL in a string, as a path, or undefined. */
function nulAt(value: unknown, path: string, depth = 0): string | undefined {
  if (typeof value === 'string') return NUL.test(value) ? path : undefined;
  if (depth > 20 || value === null || typeof value !== 'object') return undefined;
  for (const [key, item] of Object.entries(value)) {
    const found = nulAt(item, Array.isArray(value) ? `${path}[${key}]` : `${path}.${key}`, depth + 1);
    if (found) return found;
  }
  return undefined;
}

/**
 * Odoo's External JSON-2 API (Odoo 19+): `POST /json/2/<model>/<method>` with the arguments by name in
 * a JSON body, `Authorization: bearer <API key>`, `X-Odoo-Database` when configured. No login: every
 * call carries the key. Failures come back as HTTP statuses with Odoo's error body
 * (`{name, message, arguments, context, debug}`); they leave as `OdooError`s with the same codes and
 * the same transient/permanent split as the XML-RPC client's, so dead letters read alike.
 */
export class OdooJson2Client implements OdooTransport {
  readonly api = 'json2';
  readonly db: string | undefined;
  /** JSON-2 requests sent (for benchmarks and tests). */
  callCount = 0;
  readonly #apiKey: string;
  readonly #timeoutMs: number;
  readonly #base: URL;

  constructor(settings: OdooJson2Settings) {
    this.#base = new URL(settings.url);
    if (this.#base.protocol !== 'http:' && this.#base.protocol !== 'https:') throw new Error(`ODOO_URL must be http(s), not ${this.#base.protocol}`);
    // Checked here, once: a key that cannot be a header value would make fetch quote it in its error.
    if (!/^[\x21-\x7e]+$/.test(settings.apiKey)) throw new Error('ODOO_PASSWORD must be an API key of printable ASCII characters for ODOO_API=json2');
    this.db = settings.db;
    this.#apiKey = settings.apiKey;
    this.#timeoutMs = settings.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  /** The server's address without credentials, for messages. */
  get origin(): string {
    return this.#base.origin;
  }

  /**
   * One call. A read whose connection dropped is sent once more at once (an idle kept-alive socket
   * the server closed fails so); a write never is, since Odoo may have committed it.
   */
  async call(call: OdooCall): Promise<unknown> {
    const what = `${call.model}.${call.method}`;
    const body = { ...(call.ids ? { ids: call.ids } : {}), ...(call.context ? { context: call.context } : {}), ...call.params };
    const unsendable = loneSurrogateAt(body, 'body');
    if (unsendable) throw this.#unsendable(what, `${unsendable} holds a lone UTF-16 surrogate, which is not text`);
    const nul = nulAt(body, 'body');
    if (nul) throw this.#unsendable(what, `${nul} holds a NUL character, which Odoo's database cannot store`);
    const path = `${this.#base.pathname.replace(/\/+$/, '')}/json/2/${encodeURIComponent(call.model)}/${encodeURIComponent(call.method)}`;
    const json = JSON.stringify(body);
    try {
      return await this.#request(path, json, what);
    } catch (error) {
      if (!READ_ONLY_METHODS.has(call.method) || !(error instanceof OdooError) || !error.connectionLost) throw error;
      return this.#request(path, json, what);
    }
  }

  /** Counts currencies: JSON-2 has no login, and this is the cheapest call that needs the key. */
  async checkCredentials(): Promise<void> {
    await this.call({ model: 'res.currency', method: 'search_count', params: { domain: [], limit: 1 } });
  }

  /** fetch pools its connections process-wide: nothing of this client's own to free. */
  close(): void {}

  /** One request with a deadline over connecting, the answer and its body. */
  async #request(path: string, body: string, what: string): Promise<unknown> {
    this.callCount += 1;
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), this.#timeoutMs);
    try {
      const response = await fetch(new URL(path, this.#base), {
        method: 'POST',
        headers: {
          authorization: `bearer ${this.#apiKey}`,
          'content-type': 'application/json; charset=utf-8',
          accept: 'application/json',
          'user-agent': 'order-hub',
          ...(this.db ? { 'x-odoo-database': this.db } : {}),
        },
        body,
        // A redirect (http → https, another host) means ODOO_URL is not the endpoint: say so, do not follow.
        redirect: 'manual',
        signal: controller.signal,
      });
      const text = await response.text();
      return this.#answer(response, text, what);
    } catch (error) {
      if (error instanceof OdooError) throw error;
      if (controller.signal.aborted) {
        throw new OdooError('transient', 'ODOO_UNAVAILABLE', `Odoo at ${this.origin} did not answer ${what} within ${this.#timeoutMs} ms`);
      }
      throw this.#fromNetwork(error, what);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Odoo's answer: the result on 200, else an OdooError by status and Odoo's error body. */
  #answer(response: Response, text: string, what: string): unknown {
    const json = parseJson(text);
    if (response.status === 200) {
      if (json.ok) return json.value;
      // A proxy's or a captive portal's page, a body cut short: not Odoo's answer, maybe next time.
      const type = response.headers.get('content-type') ?? 'no content type';
      throw new OdooError(
        'transient',
        'ODOO_BAD_RESPONSE',
        `Odoo at ${this.origin} answered ${what} with a body that is not JSON (HTTP 200, ${type})`,
        undefined,
        undefined,
        { status: 200 },
      );
    }
    const parsed = json.ok ? errorBodySchema.safeParse(json.value) : undefined;
    const body = parsed?.success ? parsed.data : undefined;
    return this.#throwFor(response, what, body);
  }

  #throwFor(response: Response, what: string, body: z.output<typeof errorBodySchema> | undefined): never {
    const status = response.status;
    const exception: OdooException | undefined = body ? { name: body.name.replace(/^builtins\./, ''), message: body.message } : undefined;
    const details: OdooErrorDetails = { status, exception };
    const detail = oneLine(body?.message ?? '');
    const fail = (kind: OdooError['kind'], code: string, message: string, extra: OdooErrorDetails = {}) =>
      new OdooError(kind, code, message, undefined, undefined, { ...details, ...extra });
    const named = (name: string) => body?.name === `odoo.exceptions.${name}`;

    // Bearer authentication failed (werkzeug Unauthorized, "Invalid apikey"): an unknown, revoked or expired key.
    if (status === 401) throw fail('permanent', 'ODOO_BAD_CREDENTIALS', this.#credentialsMessage());
    if (status === 403) {
      if (named('AccessDenied')) throw fail('permanent', 'ODOO_ACCESS_DENIED', this.#credentialsMessage());
      if (body) throw fail('permanent', 'ODOO_ACCESS_ERROR', `The API key's Odoo user lacks the rights for ${what}: ${detail}`);
      throw fail(
        'permanent',
        'ODOO_HTTP_ERROR',
        `Odoo at ${this.origin} answered HTTP 403 to ${what}; check ODOO_URL and that the database allows the external API`,
      );
    }
    if (status === 404) {
      // A record that is gone is Odoo's MissingError, a UserError: the same code as over XML-RPC.
      if (named('MissingError')) throw fail('permanent', 'ODOO_USER_ERROR', `Odoo refused ${what}: ${detail}`);
      // Odoo's own 404s name the model or method it lacks; its catch-all and any other 404 mean no JSON-2 endpoint here.
      if (body && !/Did you mean POST/.test(body.message)) throw fail('permanent', 'ODOO_NOT_FOUND', `Odoo has no ${what}: ${detail}`);
      const check = this.db ? 'ODOO_URL and ODOO_DB' : 'ODOO_URL';
      throw fail(
        'permanent',
        'ODOO_NOT_FOUND',
        `${this.origin} has no Odoo JSON-2 endpoint (HTTP 404 for ${what}); check ${check}, and that Odoo is 19 or later (else ODOO_API=xmlrpc)`,
      );
    }
    if (status === 409) throw fail('transient', 'ODOO_CONCURRENT_UPDATE', `Odoo hit a concurrent update in ${what}: ${detail}`);
    if (status === 422) {
      // werkzeug's UnprocessableEntity: the arguments do not fit the method (our request); else a UserError or ValidationError.
      if (body?.name === 'werkzeug.exceptions.UnprocessableEntity') {
        throw fail('permanent', 'ODOO_INVALID_REQUEST', `Odoo could not take our arguments for ${what}: ${detail}`);
      }
      throw fail('permanent', 'ODOO_USER_ERROR', `Odoo refused ${what}: ${detail}`);
    }
    if (status === 400) {
      // Odoo's own 400 says it could not parse our body (as a fault-1 ExpatError does over XML-RPC); a bare one is a proxy's or Werkzeug's.
      if (body) throw fail('permanent', 'ODOO_INVALID_REQUEST', `Odoo could not read our request for ${what}: ${detail}`);
      throw fail('permanent', 'ODOO_BAD_REQUEST', `Odoo at ${this.origin} refused ${what} as a bad request (HTTP 400)`);
    }
    if (status === 500 && body && body.name !== 'werkzeug.exceptions.InternalServerError') {
      // An exception Odoo raised and did not classify: judged as over XML-RPC, where it is fault 1.
      const line = `${exception?.name}: ${oneLine(body.message)}`;
      throw fromPythonException(line, `${body.name}: ${body.message}`, what, undefined, undefined, details);
    }
    if (status >= 500 || UNAVAILABLE_STATUSES.has(status)) {
      throw fail('transient', 'ODOO_UNAVAILABLE', `Odoo at ${this.origin} answered HTTP ${status} to ${what}`, {
        retryAfterMs: retryAfterMs(response.headers.get('retry-after')),
      });
    }
    const location = response.headers.get('location');
    const to = status >= 300 && status < 400 && location ? ` to ${location}` : '';
    const why = body ? `: ${detail}` : '; check ODOO_URL';
    throw fail('permanent', 'ODOO_HTTP_ERROR', `Odoo at ${this.origin} answered HTTP ${status}${to} to ${what}${why}`);
  }

  /** fetch's "fetch failed" and its cause (the socket's error) to transient or TLS errors; bugs pass unchanged. */
  #fromNetwork(error: unknown, what: string): unknown {
    const cause = (error as { cause?: unknown })?.cause as { code?: unknown; message?: unknown; errors?: Array<{ code?: unknown }> } | undefined;
    const code = typeof cause?.code === 'string' ? cause.code : typeof cause?.errors?.[0]?.code === 'string' ? (cause.errors[0].code as string) : '';
    const message = typeof cause?.message === 'string' ? cause.message : '';
    return fromNetworkFailure({ code, message }, this.origin, what, error) ?? error;
  }

  #credentialsMessage(): string {
    const where = this.db ? `database ${this.db}` : this.origin;
    return `Odoo rejected the API key for ${where} (check ODOO_PASSWORD: with ODOO_API=json2 it holds an API key of the integration user)`;
  }

  #unsendable(what: string, why: string): OdooError {
    return new OdooError('permanent', 'ODOO_INVALID_REQUEST', `${what} was not sent to Odoo: ${why}`);
  }
}

function parseJson(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false };
  }
}

/** `Retry-After` in seconds or as an HTTP date, in ms; undefined when absent or unreadable. */
function retryAfterMs(header: string | null): number | undefined {
  if (!header) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}
