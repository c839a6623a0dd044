/**
 * XML-RPC on the wire, with the `xmlrpc` package's own (de)serializer — the one the app's client
 * uses — so both ends agree on every type. Odoo answers with `allow_none=False`: a result must
 * never hold None, so undefined/null turn into false here (and would be a sandbox bug).
 */
import type { IncomingMessage } from 'node:http';
import Deserializer from 'xmlrpc/lib/deserializer.js';
import { serializeFault, serializeMethodResponse } from 'xmlrpc/lib/serializer.js';

export interface MethodCall {
  method: string;
  params: unknown[];
}

/** Parses the request body as a methodCall; rejects on anything else. */
export function readCall(request: IncomingMessage): Promise<MethodCall> {
  return new Promise((resolve, reject) => {
    let settled = false;
    new Deserializer().deserializeMethodCall(request, (error, method, params) => {
      if (settled) return;
      settled = true;
      if (error || method === undefined) reject(error ?? new Error('no method name'));
      else resolve({ method, params: params ?? [] });
    });
  });
}

export const methodResponse = (value: unknown): string => serializeMethodResponse(withoutNone(value));

export const faultResponse = (fault: { faultCode: number; faultString: string }): string => serializeFault(fault);

function withoutNone(value: unknown): unknown {
  if (value === null || value === undefined) return false;
  if (Array.isArray(value)) return value.map(withoutNone);
  if (typeof value === 'object' && !(value instanceof Date) && !Buffer.isBuffer(value)) {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, withoutNone(item)]));
  }
  return value;
}
