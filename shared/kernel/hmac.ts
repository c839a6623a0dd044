import { createHmac, timingSafeEqual } from 'node:crypto';

const HEX_SHA256 = /^[0-9a-f]{64}$/i;

/** Lower-case hex HMAC-SHA256 of the bytes with the secret (the form the Driver-App and BTCPay sign with). */
export function hexHmacSha256(body: string | Buffer, secret: string): string {
  return createHmac('sha256', secret).update(body).digest('hex');
}

/**
 * Whether `hex` is the HMAC-SHA256 of exactly these bytes. Verify the raw body as received:
 * re-serialised JSON differs byte-wise. A malformed value or an empty secret is refused before any
 * comparison; the comparison itself takes constant time.
 */
export function verifyHexHmacSha256(rawBody: Buffer, hex: string | undefined, secret: string): boolean {
  if (hex === undefined || !HEX_SHA256.test(hex) || secret === '') return false;
  const expected = createHmac('sha256', secret).update(rawBody).digest();
  return timingSafeEqual(expected, Buffer.from(hex, 'hex'));
}

/** Base64 HMAC-SHA256 of the bytes with the secret (the form WooCommerce signs its webhooks with). */
export function base64HmacSha256(body: string | Buffer, secret: string): string {
  return createHmac('sha256', secret).update(body).digest('base64');
}

const BASE64_SHA256 = /^[A-Za-z0-9+/]{43}=$/;

/**
 * Whether `base64` is the HMAC-SHA256 of exactly these bytes, as `verifyHexHmacSha256` for hex: a
 * malformed value or an empty secret is refused before any comparison, which takes constant time.
 */
export function verifyBase64HmacSha256(rawBody: Buffer, base64: string | undefined, secret: string): boolean {
  if (base64 === undefined || !BASE64_SHA256.test(base64.trim()) || secret === '') return false;
  const expected = createHmac('sha256', secret).update(rawBody).digest();
  return timingSafeEqual(expected, Buffer.from(base64.trim(), 'base64'));
}
