/** What every endpoint handler receives and returns. */
import type { FormObject } from './form';
import type { RequestInfo, SandboxStore } from './store';

export interface HandlerContext {
  store: SandboxStore;
  request: RequestInfo;
  /** http://host:port of the sandbox, for URLs inside objects. */
  baseUrl: string;
  /** A publishable key (Stripe.js) may only act on an object whose client_secret it presents. */
  keyType: 'secret' | 'publishable' | 'none';
}

export interface HandlerResult {
  status?: number;
  body: unknown;
}

/** Runs synchronously: no other request interleaves with a handler, so no locking is needed. */
export type Handler = (context: HandlerContext, form: FormObject, args: string[]) => HandlerResult;

export interface Route {
  method: 'GET' | 'POST' | 'DELETE';
  pattern: RegExp;
  handler: Handler;
  /**
   * Who may call: `secret` (default) needs an sk_test_ key; `publishable` also takes a pk_test_
   * key plus the object's client_secret (what Stripe.js does); `open` is a sandbox control that
   * stands for the customer's browser (no key).
   */
  access?: 'secret' | 'publishable' | 'open';
}

export const ok = (body: unknown): HandlerResult => ({ status: 200, body });
