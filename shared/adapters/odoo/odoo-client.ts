import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
// Type-only: xmlrpc is required by the first call (an ERP sync or the credential check), not by start-up.
import type xmlrpc from 'xmlrpc';
import * as z from 'zod';
import { JobError } from '../../platform/jobs';
import { exceptionLine, fromNetworkFailure, fromPythonException, loneSurrogateAt, OdooError, oneLine } from './odoo-errors';
import { type OdooCall, type OdooTransport, READ_ONLY_METHODS } from './odoo-transport';

export { exceptionLine, isMissingMethod, isUnknownField, OdooError } from './odoo-errors';

/** Where and as whom to reach Odoo (ODOO_URL, ODOO_DB, ODOO_USERNAME, ODOO_PASSWORD). */
export interface OdooSettings {
  /** Base URL, http or https (`https://erp.example.com`, `http://127.0.0.1:8069`); a path prefix is kept. */
  url: string;
  db: string;
  username: string;
  /** The user's password or an API key. */
  password: string;
  /** Per request; default 15 s. */
  timeoutMs?: number;
}

/** Odoo's fault codes on /xmlrpc/2 (odoo/addons/base/controllers/rpc.py). */
export const ODOO_FAULTS = { application: 1, userError: 2, accessDenied: 3, accessError: 4 } as const;

const DEFAULT_TIMEOUT_MS = 15_000;

/** The fault Python's XML-RPC marshaller raises for a None result (odoo/addons/base/controllers/rpc.py). */
const MARSHAL_NONE = /^TypeError: cannot marshal None unless allow_none is enabled$/;

/**
 * Named parameters `execute_kw` takes positionally, after the ids, as far as they are given: Odoo's
 * XML-RPC dispatch reads `create`'s values from `args[0]`, and the rest keeps the shape Odoo's own
 * examples use. Everything else travels by name in `kwargs`, which Odoo binds as JSON-2 does.
 */
const POSITIONAL: Readonly<Record<string, readonly string[]>> = {
  create: ['vals_list'],
  write: ['vals'],
  search: ['domain'],
  search_read: ['domain'],
  search_count: ['domain'],
};

const uidSchema = z.number().int().positive();

/**
 * Odoo's external XML-RPC API over the `xmlrpc` package: `authenticate` once (the uid is cached and
 * shared by concurrent callers), then `execute_kw`. Every failure leaves as an `OdooError`, a
 * JobError whose kind says whether a retry can help. Callers parse results with zod.
 */
export class OdooClient implements OdooTransport {
  readonly api = 'xmlrpc';
  readonly db: string;
  readonly username: string;
  /** XML-RPC requests sent, authenticate included (for benchmarks and tests). */
  callCount = 0;
  readonly #password: string;
  readonly #timeoutMs: number;
  readonly #base: URL;
  readonly #agent: HttpAgent;
  #uid: number | undefined;
  #login: Promise<number> | undefined;

  constructor(settings: OdooSettings) {
    this.#base = new URL(settings.url);
    if (this.#base.protocol !== 'http:' && this.#base.protocol !== 'https:') throw new Error(`ODOO_URL must be http(s), not ${this.#base.protocol}`);
    this.db = settings.db;
    this.username = settings.username;
    this.#password = settings.password;
    this.#timeoutMs = settings.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    // Keep-alive: a sync makes ~10 calls in a row, a TLS handshake each would double their time.
    this.#agent = this.#base.protocol === 'https:' ? new HttpsAgent({ keepAlive: true }) : new HttpAgent({ keepAlive: true });
  }

  /** The server's address without credentials, for messages. */
  get origin(): string {
    return this.#base.origin;
  }

  /** The uid for our user: asked once, then cached. */
  async authenticate(): Promise<number> {
    if (this.#uid !== undefined) return this.#uid;
    this.#login ??= this.#authenticate().finally(() => {
      this.#login = undefined;
    });
    return this.#login;
  }

  /**
   * `execute_kw(db, uid, password, model, method, args, kwargs)`. Context goes in `kwargs.context`.
   * If Odoo denies a cached uid (password rotated, user re-created, database restored) the client
   * logs in again once; a second denial is final.
   */
  async executeKw(model: string, method: string, args: unknown[], kwargs: Record<string, unknown> = {}): Promise<unknown> {
    const uid = await this.authenticate();
    const what = `${model}.${method}`;
    try {
      return await this.#object(uid, model, method, args, kwargs, what);
    } catch (error) {
      if (!(error instanceof OdooError) || error.fault?.code !== ODOO_FAULTS.accessDenied) throw error;
      if (this.#uid === uid) this.#uid = undefined;
      const fresh = await this.authenticate();
      return await this.#object(fresh, model, method, args, kwargs, what);
    }
  }

  /**
   * `object.execute_kw`. Odoo answers XML-RPC without `allow_none`: a method that returned None
   * (`button_draft`, `action_cancel`, …) has run and committed when this fault comes, so it is the
   * answer None, as JSON-2 gives it.
   */
  async #object(uid: number, model: string, method: string, args: unknown[], kwargs: Record<string, unknown>, what: string): Promise<unknown> {
    try {
      return await this.#call('object', 'execute_kw', [this.db, uid, this.#password, model, method, args, kwargs], what);
    } catch (error) {
      if (error instanceof OdooError && error.fault?.code === ODOO_FAULTS.application && MARSHAL_NONE.test(exceptionLine(error.fault.string))) return null;
      throw error;
    }
  }

  /** A model method with named arguments (the transport seam), as `execute_kw` takes it. */
  call({ model, method, ids, params = {}, context }: OdooCall): Promise<unknown> {
    const args: unknown[] = ids ? [ids] : [];
    const kwargs: Record<string, unknown> = {};
    const leading = [...(POSITIONAL[method] ?? [])];
    for (const [name, value] of Object.entries(params)) {
      if (leading[0] === name) {
        args.push(value);
        leading.shift();
      } else kwargs[name] = value;
    }
    if (context) kwargs.context = context;
    return this.executeKw(model, method, args, kwargs);
  }

  /** Logs in (a client of its own, so a cached uid does not hide a refused password). */
  async checkCredentials(): Promise<void> {
    await this.authenticate();
  }

  /** `common.version()`: needs no login, so it tells "reachable" from "credentials wrong". */
  async version(): Promise<unknown> {
    return this.#call('common', 'version', [], 'version');
  }

  /** Closes idle keep-alive sockets (tests, shutdown). */
  close(): void {
    this.#agent.destroy();
  }

  async #authenticate(): Promise<number> {
    const result = await this.#call('common', 'authenticate', [this.db, this.username, this.#password, {}], 'authenticate');
    // Odoo answers false, not a fault, for an unknown login or a wrong password.
    if (result === false) throw new OdooError('permanent', 'ODOO_BAD_CREDENTIALS', this.#credentialsMessage());
    const uid = uidSchema.safeParse(result);
    if (!uid.success)
      throw new OdooError('permanent', 'ODOO_BAD_RESPONSE', `Odoo answered authenticate with ${JSON.stringify(result)?.slice(0, 100)}, not a user id`);
    this.#uid = uid.data;
    return uid.data;
  }

  #credentialsMessage(): string {
    return `Odoo rejected the credentials for user ${this.username} on database ${this.db} (check ODOO_USERNAME / ODOO_PASSWORD)`;
  }

  /**
   * One call. A read whose connection dropped is sent once more at once: a kept-alive socket the
   * server (or a proxy) closed while idle fails exactly so, and the retry costs nothing. A write is
   * never re-sent here, since Odoo may have committed it; the job's retry looks before it writes.
   */
  async #call(service: 'common' | 'object', method: string, params: unknown[], what: string): Promise<unknown> {
    const readOnly = READ_ONLY_METHODS.has(service === 'object' ? String(params[4]) : method);
    try {
      return await this.#request(service, method, params, what);
    } catch (error) {
      if (!readOnly || !(error instanceof OdooError) || !error.connectionLost) throw error;
      return this.#request(service, method, params, what);
    }
  }

  /** One XML-RPC request with a deadline; settles once whatever the library reports after that. */
  #request(service: 'common' | 'object', method: string, params: unknown[], what: string): Promise<unknown> {
    // Text that cannot travel as XML fails the same way on every attempt: permanent, and before
    // anything is sent (a lone surrogate would otherwise reach Odoo as U+FFFD, silently).
    const surrogate = loneSurrogateAt(params, 'params');
    if (surrogate) {
      return Promise.reject(
        new OdooError('permanent', 'ODOO_INVALID_REQUEST', `${what} was not sent to Odoo: ${surrogate} holds a lone UTF-16 surrogate, which is not text`),
      );
    }
    this.callCount += 1;
    const basePath = this.#base.pathname.replace(/\/+$/, '');
    const controller = new AbortController();
    // `signal` and `agent` reach http.request untouched: the library passes its options through.
    const options = {
      host: this.#base.hostname.replace(/^\[(.*)\]$/, '$1'),
      port: Number(this.#base.port) || (this.#base.protocol === 'https:' ? 443 : 80),
      path: `${basePath}/xmlrpc/2/${service}`,
      agent: this.#agent,
      signal: controller.signal,
    } as Parameters<typeof xmlrpc.createClient>[0];
    const rpc = require('xmlrpc') as typeof xmlrpc;
    const client = this.#base.protocol === 'https:' ? rpc.createSecureClient(options) : rpc.createClient(options);

    return new Promise((resolve, reject) => {
      let settled = false;
      const settle = (error: unknown, value?: unknown) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (error) reject(this.#classify(error, what));
        else resolve(value);
      };
      const timer = setTimeout(() => {
        settle(new OdooError('transient', 'ODOO_UNAVAILABLE', `Odoo at ${this.origin} did not answer ${what} within ${this.#timeoutMs} ms`));
        controller.abort();
      }, this.#timeoutMs);
      try {
        client.methodCall(method, params, (error, value) => settle(error, value));
      } catch (error) {
        // Thrown before anything was sent: the request cannot be written as XML-RPC (xmlbuilder refuses
        // a NUL or another character XML forbids). The same request fails the same way every time.
        // The library's error is not kept as the cause: its message quotes the value (a customer's name).
        settle(new OdooError('permanent', 'ODOO_INVALID_REQUEST', `${what} was not sent to Odoo: it cannot be written as XML-RPC (${unsendable(error)})`));
      }
    });
  }

  /** Vendor errors to the closed set of OdooError codes; programming errors pass unchanged. */
  #classify(error: unknown, what: string): unknown {
    if (error instanceof JobError) return error;
    const e = error as {
      faultCode?: unknown;
      faultString?: unknown;
      code?: unknown;
      message?: unknown;
      res?: { statusCode?: number; headers?: Record<string, unknown> };
    };
    if (typeof e.faultCode === 'number') return this.#fromFault(e.faultCode, String(e.faultString ?? ''), what, error);

    const status = e.res?.statusCode;
    if (status !== undefined && (status >= 500 || status === 429 || status === 408)) {
      return new OdooError('transient', 'ODOO_UNAVAILABLE', `Odoo at ${this.origin} answered HTTP ${status} to ${what}`, undefined, error);
    }
    if (status === 400) {
      // Odoo (Werkzeug) or a proxy in front of it could not make sense of the request: sending the same bytes again cannot help.
      return new OdooError('permanent', 'ODOO_BAD_REQUEST', `Odoo at ${this.origin} refused ${what} as a bad request (HTTP 400)`, undefined, error);
    }
    if (status === 404) {
      return new OdooError(
        'permanent',
        'ODOO_NOT_FOUND',
        `${this.origin} has no Odoo XML-RPC endpoint (HTTP 404 for ${what}); check ODOO_URL`,
        undefined,
        error,
      );
    }
    if (status !== undefined && status >= 300) {
      const location = typeof e.res?.headers?.location === 'string' ? ` to ${e.res.headers.location}` : '';
      return new OdooError(
        'permanent',
        'ODOO_HTTP_ERROR',
        `Odoo at ${this.origin} answered HTTP ${status}${location} to ${what}; check ODOO_URL`,
        undefined,
        error,
      );
    }
    if (status !== undefined) {
      return new OdooError(
        'permanent',
        'ODOO_BAD_RESPONSE',
        `Odoo at ${this.origin} sent no XML-RPC answer to ${what}: ${String(e.message)}`,
        undefined,
        error,
      );
    }

    const code = typeof e.code === 'string' ? e.code : '';
    const message = typeof e.message === 'string' ? e.message : '';
    return fromNetworkFailure({ code, message }, this.origin, what, error) ?? error;
  }

  #fromFault(faultCode: number, faultString: string, what: string, cause: unknown): OdooError {
    const fault = { code: faultCode, string: faultString };
    const detail = oneLine(faultString);
    switch (faultCode) {
      case ODOO_FAULTS.userError:
        return new OdooError('permanent', 'ODOO_USER_ERROR', `Odoo refused ${what}: ${detail}`, fault, cause, odooException('UserError', faultString));
      case ODOO_FAULTS.accessDenied:
        return new OdooError('permanent', 'ODOO_ACCESS_DENIED', this.#credentialsMessage(), fault, cause, odooException('AccessDenied', faultString));
      case ODOO_FAULTS.accessError:
        return new OdooError(
          'permanent',
          'ODOO_ACCESS_ERROR',
          `Odoo user ${this.username} lacks the rights for ${what}: ${detail}`,
          fault,
          cause,
          odooException('AccessError', faultString),
        );
      default:
        return fromPythonException(exceptionLine(faultString), faultString, what, fault, cause);
    }
  }
}

/**
 * Why the XML-RPC library could not write a request, without the value it quotes (a customer's name
 * has no place in a dead letter or a log): `Invalid character (U+0000) … at index 5`.
 */
function unsendable(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const [reason = '', rest = ''] = message.split(/ in string: /s);
  const at = / at index (\d+)\s*$/.exec(rest)?.[0] ?? '';
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is being named.
  const named = reason.replace(/[\u0000-\u001f\u007f-\u009f\ufffe\uffff]/g, (ch) => `U+${ch.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`);
  return oneLine(`${named}${at}`);
}

/** Faults 2–4 carry the bare message of one of Odoo's own exception classes. */
const odooException = (name: string, message: string) => ({ exception: { name: `odoo.exceptions.${name}`, message } });
