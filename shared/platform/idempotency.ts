import { createHash } from 'node:crypto';
import * as z from 'zod';
import type { Caller, HttpResponseData } from '../function-table';

/**
 * Idempotency keys (the IETF httpapi "Idempotency-Key" draft, as Stripe serves it): a client sends
 * `Idempotency-Key` with a request that creates something; a repeat of the same request under the
 * same key gets the first response again instead of a second effect. This file holds the store port
 * and the pure rules every store applies; the HTTP pipeline runs the step, an adapter keeps the records.
 */

/** Longest key accepted (the draft leaves it to the server; Stripe allows 255). */
export const MAX_IDEMPOTENCY_KEY_LENGTH = 255;

/** A response body as stored: JSON (already normalised through JSON), text, or bytes in base64. */
export const storedBodySchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('json'), json: z.json() }),
  z.object({ kind: z.literal('text'), text: z.string() }),
  z.object({ kind: z.literal('base64'), base64: z.string() }),
]);
export type StoredBody = z.infer<typeof storedBodySchema>;

/** The first response of a key, as kept for replays: status, the handler's headers and the body. */
export const storedResponseSchema = z.object({
  status: z.number().int(),
  headers: z.record(z.string(), z.string()),
  body: storedBodySchema.optional(),
  /** True when the store could not keep the body (too large): a replay carries status and headers only. */
  bodyDropped: z.boolean().optional(),
});
export type StoredResponse = z.infer<typeof storedResponseSchema>;

/** Proof that a request holds a key: the token and whatever the store checks on complete/release (an ETag). */
export interface IdempotencyHandle {
  readonly token: string;
  /** Opaque to the caller; a store completes or releases only while the record still carries it. */
  readonly lease: string;
}

/** What `begin` found for a key. */
export type IdempotencyBegin =
  /** No finished record: this request holds the key now (fresh, or taken over from a stale in-flight one). */
  | { outcome: 'new'; handle: IdempotencyHandle }
  /** The same request finished before: answer its response again. */
  | { outcome: 'replay'; response: StoredResponse }
  /** The key was used with another request body. */
  | { outcome: 'mismatch' }
  /** The same request is still running (its lock has not expired). */
  | { outcome: 'in-flight' };

/**
 * Keeps one record per token: in flight (locked at a time) or completed (with the response).
 * Creating a record and taking over a stale one are atomic, so of any number of racing requests
 * exactly one gets `new`.
 */
export interface IdempotencyStore {
  /** Claims the key for a request with this body fingerprint, or reports what holds it. */
  begin(token: string, fingerprint: string, now: Date): Promise<IdempotencyBegin>;
  /**
   * Records the response for replays. False when the lease was lost (the lock expired and another
   * request took the key over, or the record was swept): nothing is written then.
   */
  complete(handle: IdempotencyHandle, response: StoredResponse, now: Date): Promise<boolean>;
  /** Deletes the record so the client may retry (after a 5xx); false when the lease was lost. */
  release(handle: IdempotencyHandle): Promise<boolean>;
  /** Deletes records completed (or left in flight) before `olderThan`; resolves with how many. */
  sweep(olderThan: Date): Promise<number>;
}

/** A record as a store keeps it, for the pure decision below. */
export interface IdempotencyRecord {
  fingerprint: string;
  state: 'in-flight' | 'completed';
  /** When the current holder claimed the key (begin or takeover). */
  lockedAt: Date;
  completedAt?: Date;
  response?: StoredResponse;
}

/**
 * What an existing record means for a new request: another body is a mismatch whatever the state
 * (a key belongs to one request); a completed record is replayed; an in-flight one blocks until its
 * lock is older than `lockMs`, then it is `stale` and the store may take it over.
 */
export function classifyRecord(record: IdempotencyRecord, fingerprint: string, now: Date, lockMs: number): 'mismatch' | 'replay' | 'in-flight' | 'stale' {
  if (record.fingerprint !== fingerprint) return 'mismatch';
  if (record.state === 'completed') return 'replay';
  return now.getTime() - record.lockedAt.getTime() >= lockMs ? 'stale' : 'in-flight';
}

/** SHA-256 (hex) of the raw request body: the request a key was first used with. */
export function bodyFingerprint(rawBody: Buffer): string {
  return createHash('sha256').update(rawBody).digest('hex');
}

/** Where a key is valid: who calls (API key name, or client address when anonymous), the method and the path. */
export interface IdempotencyScope {
  principal: string;
  method: string;
  path: string;
}

/** The scope of a request: keys of different callers, methods or paths never meet. */
export function idempotencyScope(caller: Caller, request: { method: string; url: string; clientIp: string }): IdempotencyScope {
  return {
    principal: caller.kind === 'apiKey' ? `apiKey:${caller.name}` : `ip:${request.clientIp}`,
    method: request.method.toUpperCase(),
    path: request.url,
  };
}

/**
 * The stable id of a key in its scope (SHA-256 hex of the JSON array, an injective encoding): the
 * store's record key, and what a use case derives deterministic resource and provider idempotency
 * ids from, so a retry after a 5xx reuses them.
 */
export function idempotencyToken(scope: IdempotencyScope, key: string): string {
  return createHash('sha256')
    .update(JSON.stringify(['idempotency/v1', scope.principal, scope.method, scope.path, key]))
    .digest('hex');
}

/**
 * The handler's response as stored: JSON bodies go through JSON (what the wire carries), strings
 * and Buffers are kept as they are; the headers as the handler set them.
 */
export function toStoredResponse(response: HttpResponseData): StoredResponse {
  const stored: StoredResponse = { status: response.status, headers: { ...response.headers } };
  const { body } = response;
  if (body === undefined || body === null) return stored;
  if (Buffer.isBuffer(body)) stored.body = { kind: 'base64', base64: body.toString('base64') };
  else if (typeof body === 'string') stored.body = { kind: 'text', text: body };
  else {
    const json = JSON.stringify(body);
    if (json !== undefined) stored.body = { kind: 'json', json: JSON.parse(json) };
  }
  return stored;
}

/** The stored response as a handler's response again (the pipeline adds `Idempotent-Replayed`). */
export function fromStoredResponse(stored: StoredResponse): HttpResponseData {
  const response: HttpResponseData = { status: stored.status, headers: { ...stored.headers } };
  const body = stored.body;
  if (!body) return response;
  if (body.kind === 'base64') response.body = Buffer.from(body.base64, 'base64');
  else if (body.kind === 'text') response.body = body.text;
  else response.body = body.json;
  return response;
}
