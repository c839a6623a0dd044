/**
 * Odoo sandbox: a local server speaking the subset of Odoo's external API Order Hub uses, in both
 * its faces over one database, so the app's Odoo clients run unchanged against it
 * (`ODOO_URL=http://127.0.0.1:8069`, `ODOO_DB=sandbox`, `ODOO_USERNAME=admin`, `ODOO_PASSWORD=admin`):
 *
 * - XML-RPC as Odoo 17 serves it: `/xmlrpc/2/common` (version, authenticate, login) and
 *   `/xmlrpc/2/object` (execute_kw / execute), faults 1 traceback, 2 UserError, 3 AccessDenied,
 *   4 AccessError; a method returning None answers fault 1 "cannot marshal None" after it ran.
 * - JSON-2 as Odoo 19 serves it: `POST /json/2/<model>/<method>` with `Authorization: bearer <key>`
 *   (a user's password, `admin` by default, or one of `apiKeys`), optional `X-Odoo-Database`, the
 *   arguments by name in a JSON object (+ `ids`, `context`); errors as HTTP statuses with Odoo's
 *   `{name, message, arguments, context, debug}` body (local/odoo-sandbox/json2.ts). `GET /web/version`.
 *
 * Models: res.partner, res.users (read-only, + context_get), account.move (+ action_post,
 * button_draft, button_cancel), account.move.line (read-only), account.payment (made by the wizard;
 * + action_draft, action_cancel), account.payment.register (+ action_create_payments),
 * account.move.reversal (+ refund_moves, reverse_moves, modify_moves), account.journal and
 * res.currency (read-only seed data); ORM methods create, read, write, unlink, search, search_read,
 * search_count, fields_get; Odoo domains. Each change is appended to a JSON-lines log, whichever
 * face made it. `POST /sandbox/faults` `{"count": n}` or `{"seconds": s}`, optional `"kind"` (default
 * `fault`), makes calls of both faces fail; `GET` shows and `DELETE` clears what is armed.
 *
 * Currencies: EUR (the company's, id 1), USD, GBP, CHF, JPY (0 decimals), KWD (3 decimals) are
 * active, SEK is not. A move is kept in its `currency_id` and every amount is rounded in it; credit
 * notes (`out_refund`) may be created directly with `reversed_entry_id` and their own lines, as well
 * as through the reversal wizard.
 *
 * Not an Odoo: no taxes (amount_tax is 0), one company, no exchange rates (a payment is in its
 * documents' currency; another one is refused), no products, receivable/payable journal items or
 * bank statements, no persistence. The models follow Odoo 17 on both faces (JSON-2 itself is
 * Odoo 19's; `version` answers 17.0). Where it knowingly differs from Odoo it says so in `Settings`
 * (env.ts) and next to the rule.
 */
import type { AddressInfo } from 'node:net';
import http from 'node:http';
import { utcToday, type Settings } from './odoo-sandbox/env';
import {
  BAD_REQUEST_PAGE,
  FaultInjector,
  type FailureKind,
  type FaultState,
  INTERNAL_SERVER_ERROR_PAGE,
  isFailureKind,
  NOT_FOUND_PAGE,
  PERMANENT_FAULTS,
  TRANSIENT_FAULT,
} from './odoo-sandbox/fault-injection';
import { FAULT_APPLICATION, FAULT_WARNING, marshalNoneFault, PythonError, type Service, toFault, traceback } from './odoo-sandbox/faults';
import { type HttpReply, isJson2Path, json2Call, json2Failure, jsonReply, serveJson2 } from './odoo-sandbox/json2';
import { type Api, OdooDatabase, SERVER_VERSION } from './odoo-sandbox/services';
import { faultResponse, type MethodCall, methodResponse, readCall } from './odoo-sandbox/xmlrpc-codec';
import { WriteLog } from './odoo-sandbox/write-log';
import { baseUrl, closeServer, listen } from './listen';

export type { Api, FailureKind, FaultState };
export type { WriteLogEntry } from './odoo-sandbox/write-log';

export interface OdooSandboxOptions {
  /** TCP port; 0 picks a free one. Default 8069 (`ODOO_SANDBOX_PORT`). */
  port?: number;
  host?: string;
  /** The one database. Default `sandbox`. */
  db?: string;
  /** login -> password. Default `{ admin: 'admin' }`; the first user gets uid 2. */
  users?: Record<string, string>;
  /**
   * Accepted as the password of every user over XML-RPC, like Odoo API keys, and as JSON-2 bearer
   * keys of the first user. Every user's own password is its JSON-2 key too.
   */
  apiKeys?: string[];
  /** Logins that may read but get AccessError (fault 4) on every change. */
  readOnlyUsers?: string[];
  /** JSON-lines log of every change; default `logs/odoo-sandbox.jsonl`; false = none. */
  logFile?: string | false;
  /** payment_state of a paid invoice: 'paid' (default) or Odoo 17's 'in_payment' before bank matching. */
  paidState?: Settings['paidState'];
  /** What refund_moves / reverse_moves make by default: 'posted' (default) or 'draft' (Odoo 17 refund_moves). */
  reversal?: Settings['reversal'];
  /** Today's date `YYYY-MM-DD` (default: the UTC date). */
  today?: () => string;
}

export const DEFAULT_ODOO_SANDBOX_PORT = 8069;
export const DEFAULT_ODOO_LOG_FILE = 'logs/odoo-sandbox.jsonl';

/** XML-RPC methods that count as calls for the bench (every JSON-2 model call counts). */
const COUNTED = new Set(['execute_kw', 'execute', 'authenticate', 'login']);
const SERVICES = new Set<string>(['common', 'object', 'db']);

export class OdooSandbox {
  private readonly injector = new FaultInjector();
  private latencyMs = 0;
  private readonly callCounts: Record<Api, number> = { xmlrpc: 0, json2: 0 };
  private stopped = false;
  private readonly sleeping = new Set<{ timer: NodeJS.Timeout; wake: () => void }>();

  private constructor(
    private readonly server: http.Server,
    private readonly host: string,
    private readonly database: OdooDatabase,
    private readonly log: WriteLog,
  ) {
    server.on('request', (request: http.IncomingMessage, response: http.ServerResponse) => {
      this.handle(request, response).catch((error: unknown) => {
        console.error('odoo-sandbox: request failed', error);
        if (!response.headersSent) response.destroy();
      });
    });
  }

  static async start(options: OdooSandboxOptions = {}): Promise<OdooSandbox> {
    const db = options.db ?? 'sandbox';
    const users = options.users ?? { admin: 'admin' };
    if (Object.keys(users).length === 0) throw new Error('OdooSandbox: at least one user is required');
    const database = new OdooDatabase({
      db,
      users,
      apiKeys: options.apiKeys ?? [],
      readOnlyUsers: options.readOnlyUsers ?? [],
      settings: { paidState: options.paidState ?? 'paid', reversal: options.reversal ?? 'posted', today: options.today ?? utcToday },
    });
    const log = new WriteLog(options.logFile ?? DEFAULT_ODOO_LOG_FILE, db);
    const server = http.createServer();
    const host = options.host ?? '127.0.0.1';
    const sandbox = new OdooSandbox(server, host, database, log);
    await listen(server, options.port ?? DEFAULT_ODOO_SANDBOX_PORT, host);
    return sandbox;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** Base URL for clients (`ODOO_URL`): `/xmlrpc/2/common`, `/xmlrpc/2/object` and `/json/2/<model>/<method>` under it. */
  get url(): string {
    return baseUrl(this.host, this.port);
  }

  /**
   * Calls received so far, injected failures included: XML-RPC execute_kw / execute / authenticate /
   * login and JSON-2 `POST /json/2/<model>/<method>`; both faces, or the one named.
   */
  calls(api?: Api): number {
    return api ? this.callCounts[api] : this.callCounts.xmlrpc + this.callCounts.json2;
  }

  /** Every record of `model` as `read` returns it (all fields, archived ones too), oldest first — for tests. */
  records(model: string): Record<string, unknown>[] {
    return this.database.records(model);
  }

  /** The next `count` calls fail with `kind`. */
  failNext(count: number, kind: FailureKind): void {
    this.injector.failNext(count, kind);
  }

  /** Every call during the next `ms` milliseconds fails with `kind`. */
  failFor(ms: number, kind: FailureKind): void {
    this.injector.failFor(ms, kind);
  }

  /** The failures still armed (`GET /sandbox/faults`). */
  faults(): FaultState {
    return this.injector.state();
  }

  /** Delays every call (before it runs) by `ms`. */
  setLatency(ms: number): void {
    this.latencyMs = Math.max(0, ms);
  }

  /** Clears injected failures and latency (the data stays). */
  reset(): void {
    this.injector.reset();
    this.latencyMs = 0;
  }

  /** Frees the port, drops open connections and pending delays; leaves no handles behind. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const sleeper of this.sleeping) {
      clearTimeout(sleeper.timer);
      sleeper.wake();
    }
    this.sleeping.clear();
    await closeServer(this.server);
  }

  // --- HTTP ------------------------------------------------------------------------------------

  private async handle(request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
    const path = new URL(request.url ?? '/', 'http://sandbox').pathname;
    if (path === '/sandbox/faults') return this.send(response, await this.control(request));
    if (path === '/web/version' || path === '/json/version') {
      const [major, minor] = SERVER_VERSION.server_version_info;
      return this.send(response, jsonReply(200, { version_info: SERVER_VERSION.server_version_info, version: `${major}.${minor}` }));
    }
    if (isJson2Path(path)) return this.handleJson2(request, response, path);
    const service = /^\/xmlrpc\/2\/([^/]+)\/?$/.exec(path)?.[1];
    if (service === undefined) return void response.writeHead(404, { 'Content-Type': 'text/html; charset=utf-8' }).end(NOT_FOUND_PAGE);
    if (request.method !== 'POST') return void response.writeHead(405, { Allow: 'POST', 'Content-Type': 'text/html; charset=utf-8' }).end();

    let call: MethodCall;
    try {
      call = await readCall(request);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      return this.reply(response, faultResponse(toFault(new PythonError('xml.parsers.expat.ExpatError', message), 'common')));
    }
    if (COUNTED.has(call.method)) this.callCounts.xmlrpc++;
    const failure = await this.failure();
    if (this.stopped || failure === 'disconnect') return void request.socket.destroy();
    if (failure === 'http500') return void response.writeHead(500, { 'Content-Type': 'text/html; charset=utf-8' }).end(INTERNAL_SERVER_ERROR_PAGE);
    if (failure === 'fault') {
      const faultString = traceback(serviceOf(service), TRANSIENT_FAULT.exception, TRANSIENT_FAULT.message);
      return this.reply(response, faultResponse({ faultCode: FAULT_APPLICATION, faultString }));
    }
    if (failure === 'http400') return void response.writeHead(400, { 'Content-Type': 'text/html; charset=utf-8' }).end(BAD_REQUEST_PAGE);
    if (failure === 'validation') return this.reply(response, faultResponse({ faultCode: FAULT_WARNING, faultString: PERMANENT_FAULTS.validation.message }));
    if (failure === 'valueError' || failure === 'parseError') {
      const { exception, message } = PERMANENT_FAULTS[failure];
      return this.reply(response, faultResponse({ faultCode: FAULT_APPLICATION, faultString: traceback(serviceOf(service), exception, message) }));
    }
    const xml = this.invoke(service, call);
    if (failure === 'lostResponse') return void request.socket.destroy();
    this.reply(response, xml);
  }

  /** `/json/2/…`: a model call (counted, subject to injected failures and latency) or JSON-2's own answers. */
  private async handleJson2(request: http.IncomingMessage, response: http.ServerResponse, path: string): Promise<void> {
    const body = await readBody(request);
    const counted = json2Call(request.method, path) !== undefined;
    let failure: FailureKind | undefined;
    if (counted) {
      this.callCounts.json2++;
      failure = await this.failure();
    }
    if (this.stopped || failure === 'disconnect') return void request.socket.destroy();
    if (failure === 'http500')
      return this.send(response, { status: 500, headers: { 'Content-Type': 'text/html; charset=utf-8' }, body: INTERNAL_SERVER_ERROR_PAGE });
    if (failure === 'http400') return this.send(response, { status: 400, headers: { 'Content-Type': 'text/html; charset=utf-8' }, body: BAD_REQUEST_PAGE });
    if (failure && failure !== 'lostResponse') return this.send(response, json2Failure(failure));
    const { reply, write } = serveJson2(this.database, { method: request.method, path, headers: request.headers, body });
    if (write) this.log.append(write);
    if (failure === 'lostResponse') return void request.socket.destroy();
    this.send(response, reply);
  }

  /** The failure injected into the call that just arrived, after the configured latency. */
  private async failure(): Promise<FailureKind | undefined> {
    const failure = this.injector.take();
    if (this.latencyMs > 0) await this.sleep(this.latencyMs);
    return failure;
  }

  /** `POST|GET|DELETE /sandbox/faults`: arm, show or clear injected failures of both faces. */
  private async control(request: http.IncomingMessage): Promise<HttpReply> {
    if (request.method === 'GET') return jsonReply(200, this.faults());
    if (request.method === 'DELETE') {
      this.injector.reset();
      return jsonReply(200, this.faults());
    }
    if (request.method !== 'POST')
      return { status: 405, headers: { Allow: 'GET, POST, DELETE', 'Content-Type': 'application/json; charset=utf-8' }, body: '{}' };
    const refuse = (error: string) => jsonReply(422, { error });
    let body: unknown;
    try {
      const text = (await readBody(request)).toString('utf8');
      body = text === '' ? {} : JSON.parse(text);
    } catch {
      return refuse('the body is not JSON');
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body))
      return refuse('the body must be an object: {"count": n} or {"seconds": s}, optional "kind"');
    const { count, seconds, kind = 'fault' } = body as { count?: unknown; seconds?: unknown; kind?: unknown };
    if (!isFailureKind(kind)) return refuse(`unknown kind ${JSON.stringify(kind)}`);
    if ((count === undefined) === (seconds === undefined)) return refuse('give either "count" or "seconds"');
    if (count !== undefined) {
      if (typeof count !== 'number' || !Number.isInteger(count) || count < 1) return refuse('"count" must be a positive integer');
      this.failNext(count, kind);
    } else {
      if (typeof seconds !== 'number' || !(seconds > 0)) return refuse('"seconds" must be a positive number');
      this.failFor(seconds * 1000, kind);
    }
    return jsonReply(200, this.faults());
  }

  /** Runs one call; an XML-RPC response or fault, as Odoo answers (HTTP 200 either way). */
  private invoke(service: string, { method, params }: MethodCall): string {
    try {
      if (service === 'common') return methodResponse(this.database.common(method, params));
      if (service === 'object') {
        const { result, write } = this.database.object(method, params);
        if (write) this.log.append(write);
        // Odoo marshals with allow_none=False: the call has committed, the answer is a fault.
        if (result === null || result === undefined) return faultResponse(marshalNoneFault());
        return methodResponse(result);
      }
      if (service === 'db') throw new PythonError('Exception', 'The Odoo sandbox does not serve the db service (database management).');
      throw new PythonError('KeyError', `'${service}'`);
    } catch (error) {
      return faultResponse(toFault(error, serviceOf(service)));
    }
  }

  private send(response: http.ServerResponse, reply: HttpReply): void {
    if (response.destroyed) return;
    response.writeHead(reply.status, reply.headers).end(reply.body);
  }

  private reply(response: http.ServerResponse, xml: string): void {
    if (response.destroyed) return;
    response.writeHead(200, { 'Content-Type': 'text/xml; charset=utf-8' }).end(xml);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const sleeper = {
        wake: resolve,
        timer: setTimeout(() => {
          this.sleeping.delete(sleeper);
          resolve();
        }, ms),
      };
      this.sleeping.add(sleeper);
    });
  }
}

const serviceOf = (service: string): Service => (SERVICES.has(service) ? (service as Service) : 'common');

/** The whole request body. */
function readBody(request: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks)));
    request.on('error', reject);
  });
}
