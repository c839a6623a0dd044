import { randomUUID } from 'node:crypto';
import type { LocalRuntime } from '../local/runtime';

/** One call of the hub's API with the orders key and a fresh Idempotency-Key; throws on anything but 2xx. */
export async function hubCall(runtime: LocalRuntime, method: string, path: string, body?: unknown): Promise<Record<string, unknown>> {
  const response = await fetch(`${runtime.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${runtime.apiKeys.orders}`, 'content-type': 'application/json', 'idempotency-key': randomUUID() },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = (await response.json()) as Record<string, unknown>;
  if (response.status >= 300) throw new Error(`${method} ${path} answered ${response.status}: ${JSON.stringify(json)}`);
  return json;
}
