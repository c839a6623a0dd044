import { randomBytes } from 'node:crypto';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** Random base-62 text (modulo bias is irrelevant for ids). */
export function randomToken(length: number): string {
  const bytes = randomBytes(length);
  let out = '';
  for (const byte of bytes) out += ALPHABET[byte % ALPHABET.length];
  return out;
}

/** A Stripe-like id: `pi_3Pq…` (prefix + 24 characters). */
export const newId = (prefix: string): string => `${prefix}_${randomToken(24)}`;

/** Unix seconds, as in every `created` field. */
export const nowSeconds = (): number => Math.floor(Date.now() / 1000);
