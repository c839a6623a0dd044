/** Ids shaped like BTCPay's: Base58 of random bytes (16 for invoices and deliveries, 20 for pull payments). */
import { randomBytes } from 'node:crypto';

const ALPHABET = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';

export function base58(bytes: Uint8Array): string {
  let value = 0n;
  for (const byte of bytes) value = value * 256n + BigInt(byte);
  let text = '';
  while (value > 0n) {
    text = `${ALPHABET[Number(value % 58n)]}${text}`;
    value /= 58n;
  }
  for (const byte of bytes) {
    if (byte !== 0) break;
    text = `1${text}`;
  }
  return text;
}

export const randomId = (bytes = 16): string => base58(randomBytes(bytes));

/** A regtest-looking bech32 address per invoice (never a real one). */
export function fakeAddress(): string {
  const charset = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l';
  return `bcrt1q${Array.from(randomBytes(38), (byte) => charset[byte % 32]).join('')}`;
}

/** An on-chain payment id: `<txid>-<vout>`, as BTCPay names outpoints. */
export const fakeOutpoint = (): string => `${randomBytes(32).toString('hex')}-0`;
