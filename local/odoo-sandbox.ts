/**
 * Odoo sandbox: a local XML-RPC server speaking the subset of Odoo 17's external API Order Hub
 * uses, so the app's Odoo client runs unchanged against it (`ODOO_URL=http://127.0.0.1:8069`,
 * `ODOO_DB=sandbox`, `ODOO_USERNAME=admin`, `ODOO_PASSWORD=admin`).
 *
 * `/xmlrpc/2/common`: version, authenticate, login. `/xmlrpc/2/object`: execute_kw / execute on
 * res.partner, account.move (+ action_post), account.move.line (read-only), account.payment
 * (read-only, made by the wizard), account.payment.register (+ action_create_payments),
 * account.move.reversal (+ refund_moves, reverse_moves, modify_moves), account.journal and
 * res.currency (read-only seed data); ORM methods create, read, write, unlink, search, search_read,
 * search_count, fields_get; Odoo domains; Odoo-shaped faults (1 traceback, 2 UserError,
 * 3 AccessDenied, 4 AccessError). Each change is appended to a JSON-lines log.
 *
 * Currencies: EUR (the company's, id 1), USD, GBP, CHF, JPY (0 decimals), KWD (3 decimals) are
 * active, SEK is not. A move is kept in its `currency_id` and every amount is rounded in it; credit
 * notes (`out_refund`) may be created directly with `reversed_entry_id` and their own lines, as well
 * as through the reversal wizard.
 *
 * Not an Odoo: no taxes (amount_tax is 0), one company, no exchange rates (a payment is in its
 * documents' currency; another one is refused), no products, receivable/payable journal items or
 * bank statements, no persistence. Where it knowingly differs from Odoo 17 it says so in `Settings`
 * (env.ts) and next to the rule.
 */
import type { AddressInfo } from 'node:net';
import http from 'node:http';
import { utcToday, type Settings } from './odoo-sandbox/env';
import {
  BAD_REQUEST_PAGE,
  FaultInjector,
  type FailureKind,
  INTERNAL_SERVER_ERROR_PAGE,
  PERMANENT_FAULTS,
  TRANSIENT_FAULT,
} from './odoo-sandbox/fault-injection';
import { FAULT_APPLICATION, FAULT_WARNING, PythonError, type Service, toFault, traceback } from './odoo-sandbox/faults';
import { OdooDatabase } from './odoo-sandbox/services';
import { faultResponse, type MethodCall, methodResponse, readCall } from './odoo-sandbox/xmlrpc-codec';
import { WriteLog } from './odoo-sandbox/write-log';
import { baseUrl, listen } from './listen';

export type { FailureKind };
export type { WriteLogEntry } from './odoo-sandbox/write-log';

export interface OdooSandboxOptions {
  /** TCP port; 0 picks a free one. Default 8069 (`ODOO_SANDBOX_PORT`). */
  port?: number;
  host?: string;
  /** The one database. Default `sandbox`. */
  db?: string;
  /** login -> password. Default `{ admin: 'admin' }`; the first user gets uid 2. */
  users?: Record<string, string>;
  /** Accepted as the password of every user, like Odoo API keys. */
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

/** Methods that count as calls for the bench. */
const COUNTED = new Set(['execute_kw', 'execute', 'authenticate', 'login']);
const SERVICES = new Set<string>(['common', 'object', 'db']);

export class OdooSandbox {
  private readonly injector = new FaultInjector();
  private latencyMs = 0;
  private callCount = 0;
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

  /** Base URL for clients (`ODOO_URL`); the services are at `/xmlrpc/2/common` and `/xmlrpc/2/object`. */
  get url(): string {
    return baseUrl(this.host, this.port);
  }

  /** execute_kw / execute / authenticate / login calls received so far, injected failures included. */
  calls(): number {
    return this.callCount;
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
    if (!this.server.listening) return;
    const closed = new Promise<void>((resolve, reject) => this.server.close((error) => (error ? reject(error) : resolve())));
    this.server.closeAllConnections();
    await closed;
  }

  // --- HTTP ------------------------------------------------------------------------------------

  private async handle(request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
    const path = new URL(request.url ?? '/', 'http://sandbox').pathname;
    const service = /^\/xmlrpc\/2\/([^/]+)\/?$/.exec(path)?.[1];
    if (service === undefined) return void response.writeHead(404, { 'Content-Type': 'text/html; charset=utf-8' }).end(notFoundPage());
    if (request.method !== 'POST') return void response.writeHead(405, { Allow: 'POST', 'Content-Type': 'text/html; charset=utf-8' }).end();

    let call: MethodCall;
    try {
      call = await readCall(request);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      return this.reply(response, faultResponse(toFault(new PythonError('xml.parsers.expat.ExpatError', message), 'common')));
    }
    if (COUNTED.has(call.method)) this.callCount++;
    const failure = this.injector.take();
    if (this.latencyMs > 0) await this.sleep(this.latencyMs);
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

  /** Runs one call; an XML-RPC response or fault, as Odoo answers (HTTP 200 either way). */
  private invoke(service: string, { method, params }: MethodCall): string {
    try {
      if (service === 'common') return methodResponse(this.database.common(method, params));
      if (service === 'object') {
        const { result, write } = this.database.object(method, params);
        if (write) this.log.append(write);
        return methodResponse(result);
      }
      if (service === 'db') throw new PythonError('Exception', 'The Odoo sandbox does not serve the db service (database management).');
      throw new PythonError('KeyError', `'${service}'`);
    } catch (error) {
      return faultResponse(toFault(error, serviceOf(service)));
    }
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

const notFoundPage = (): string =>
  '<!doctype html>\n<html lang=en>\n<title>404 Not Found</title>\n<h1>Not Found</h1>\n<p>The requested URL was not found on the server. If you entered the URL manually please check your spelling and try again.</p>\n';
