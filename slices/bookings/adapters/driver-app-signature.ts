import { hexHmacSha256, verifyHexHmacSha256 } from '../../../shared/kernel/hmac';

// The Driver-App contract: `X-Webhook-Signature` is the hex HMAC-SHA256 of the raw
// body, nothing else. `X-Webhook-Timestamp` (unix seconds) travels beside it but is NOT signed, so
// a replayed body can carry a fresh timestamp: freshness is a cheap first filter, the real replay
// defence is de-duplicating on the signed content (trip id + sequence).

/** Header carrying the hex HMAC-SHA256 of the raw body. */
export const SIGNATURE_HEADER = 'X-Webhook-Signature';
/** Header carrying the sender's clock in unix seconds (not covered by the signature). */
export const TIMESTAMP_HEADER = 'X-Webhook-Timestamp';

const UNIX_SECONDS = /^\d{1,12}$/;

/** The signature header value for a body: lower-case hex HMAC-SHA256 with the shared secret. */
export function signBody(body: string | Buffer, secret: string): string {
  return hexHmacSha256(body, secret);
}

/** Whether `header` is the signature of exactly these bytes (constant time; malformed headers refused). */
export function verifySignature(rawBody: Buffer, header: string | undefined, secret: string): boolean {
  return verifyHexHmacSha256(rawBody, header, secret);
}

/**
 * Whether a timestamp header lies within `windowSeconds` of `now`, either side (the sender's clock
 * may run ahead). Missing or non-numeric values are not fresh.
 */
export function isFresh(timestampHeader: string | undefined, now: Date, windowSeconds = 300): boolean {
  if (timestampHeader === undefined || !UNIX_SECONDS.test(timestampHeader)) return false;
  const skew = Math.abs(now.getTime() / 1000 - Number(timestampHeader));
  return skew <= windowSeconds;
}

/** The current unix time in seconds, as the timestamp header wants it. */
export function unixSeconds(now: Date): string {
  return String(Math.floor(now.getTime() / 1000));
}

/** Whether a request is the Driver-App's: signed with the shared secret, and its timestamp fresh. */
export function isAuthenticDriverRequest(
  rawBody: Buffer,
  headers: Record<string, string>,
  options: { secret: string | undefined; windowSeconds: number; now: Date },
): boolean {
  return (
    Boolean(options.secret) &&
    verifySignature(rawBody, headers[SIGNATURE_HEADER.toLowerCase()], options.secret as string) &&
    isFresh(headers[TIMESTAMP_HEADER.toLowerCase()], options.now, options.windowSeconds)
  );
}
