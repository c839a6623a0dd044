/**
 * The sales channels' side of Order Hub's callbacks, as the channel sandbox reads it: how a
 * callback is signed (Standard Webhooks, symmetric `v1` scheme) and what its body looks like.
 *
 * Why the sandbox owns this copy instead of importing Order Hub's signing code or the
 * `standardwebhooks` package the app signs with: a receiver that verifies with the sender's own
 * code agrees with every mistake the sender makes (a wrong signed string, a re-serialised body, the
 * key used as text instead of its base64-decoded bytes), so it would pass locally and only fail
 * against a real channel. Written from the spec (github.com/standard-webhooks/standard-webhooks,
 * spec/standard-webhooks.md); when the contract really changes, change it here on purpose.
 * Nothing here may import production code.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import * as z from 'zod';

/** The three headers of a Standard Webhooks request. */
export const HEADER_ID = 'webhook-id';
export const HEADER_TIMESTAMP = 'webhook-timestamp';
export const HEADER_SIGNATURE = 'webhook-signature';

/** How far `webhook-timestamp` may be from the receiver's clock, either way (the spec's 5 minutes). */
export const DEFAULT_TOLERANCE_SECONDS = 5 * 60;

/** The prefix of a serialised symmetric secret. */
export const SECRET_PREFIX = 'whsec_';

/** Bytes of a generated secret (the spec allows 24 to 64). */
const SECRET_BYTES = 32;

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** A new random secret in the spec's serialisation: `whsec_` + base64 of 32 random bytes. */
export function generateSecret(): string {
  return `${SECRET_PREFIX}${randomBytes(SECRET_BYTES).toString('base64')}`;
}

/**
 * The HMAC key of a `whsec_<base64>` secret: the decoded bytes, not the text.
 * Throws on anything else, so a misconfigured channel fails at start, not on every callback.
 */
export function secretKey(secret: string): Buffer {
  if (!secret.startsWith(SECRET_PREFIX)) throw new Error(`a channel secret must look like ${SECRET_PREFIX}<base64>`);
  const encoded = secret.slice(SECRET_PREFIX.length);
  if (encoded.length === 0 || !BASE64.test(encoded)) throw new Error(`the part after ${SECRET_PREFIX} must be standard base64`);
  return Buffer.from(encoded, 'base64');
}

/** Why a signature was refused; `null` when it verified. */
export type SignatureProblem = 'missing_headers' | 'invalid_timestamp' | 'timestamp_too_old' | 'timestamp_too_new' | 'no_matching_signature';

/** The headers as received (a repeated header counts as its first value). */
export interface SignedHeaders {
  id: string | undefined;
  timestamp: string | undefined;
  signature: string | undefined;
}

/**
 * Verifies a callback: the timestamp is within `toleranceSeconds` of `nowSeconds`, and one of the
 * space-separated `v1,<base64>` entries equals base64(HMAC-SHA256(key, "<id>.<timestamp>.<raw body>")),
 * compared in constant time. Entries of other schemes (`v1a`, …) are skipped, as the spec says.
 */
export function verifySignature(key: Buffer, headers: SignedHeaders, rawBody: Buffer, nowSeconds: number, toleranceSeconds: number): SignatureProblem | null {
  const { id, timestamp, signature } = headers;
  if (!id || !timestamp || !signature) return 'missing_headers';
  if (!/^\d{1,15}$/.test(timestamp)) return 'invalid_timestamp';
  const seconds = Number(timestamp);
  if (nowSeconds - seconds > toleranceSeconds) return 'timestamp_too_old';
  if (seconds - nowSeconds > toleranceSeconds) return 'timestamp_too_new';

  const expected = Buffer.from(createHmac('sha256', key).update(`${id}.${timestamp}.`, 'utf8').update(rawBody).digest('base64'), 'utf8');
  let matched = false;
  for (const entry of signature.split(' ')) {
    const comma = entry.indexOf(',');
    if (comma < 0 || entry.slice(0, comma) !== 'v1') continue;
    const given = Buffer.from(entry.slice(comma + 1), 'utf8');
    // Every entry is compared (no early exit), and only equal lengths go to timingSafeEqual.
    if (given.length === expected.length && timingSafeEqual(given, expected)) matched = true;
  }
  return matched ? null : 'no_matching_signature';
}

/** The callback body every channel receives. Unknown fields are ignored, not refused. */
export const callbackBodySchema = z.object({
  id: z.string().min(1),
  type: z.string().min(1),
  createdAt: z.iso.datetime({ offset: true }),
  data: z.record(z.string(), z.unknown()),
});

/** A callback body. */
export type CallbackBody = z.infer<typeof callbackBodySchema>;
