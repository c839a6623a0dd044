/**
 * Helpers of the order-hub endpoint fuzzer: what a request wrote (rows inserted or replaced in the
 * Orders, Customers and OrderIndex tables, PaymentIntents and refunds created in the Stripe sandbox),
 * adversarial values (text, numbers, raw JSON tokens, header values, path segments, bodies), and the
 * check that a problem never quotes what was sent.
 */
import { randomUUID } from 'node:crypto';
import { odata } from '@azure/data-tables';
import fc from 'fast-check';
import type Stripe from 'stripe';
import { LOCAL_CHANNELS, type LocalRuntime } from '../../local/runtime';
import { MAX_MINOR_AMOUNT, STRIPE_CURRENCIES } from '../../shared/kernel/currency';
import { ORDER_INDEX_TABLE } from '../../slices/orders/adapters/table-order-index';
import { PAYMENT_PROVIDERS } from '../../slices/orders/domain/order';
import { ORDER_STATUSES, PAYMENT_STATUSES, PAYMENT_SUMMARIES, REFUND_STATUSES } from '../../slices/orders/domain/status';
import { CUSTOMERS_TABLE, ORDERS_TABLE } from '../../slices/orders/slice';

// ---- What a request wrote

/** A moment before a request: rows written after it carry a later Timestamp; the sandbox's newest PaymentIntent and refund. */
export interface WriteMark {
  since: Date;
  newestPaymentIntent?: string;
  newestRefund?: string;
}

/** What was written after a mark: rows inserted or replaced per order-hub table, PaymentIntents and refunds created. */
export interface Writes {
  orders: number;
  customers: number;
  orderIndex: number;
  paymentIntents: number;
  refunds: number;
}

export const NO_WRITES: Writes = { orders: 0, customers: 0, orderIndex: 0, paymentIntents: 0, refunds: 0 };

async function rowsWrittenSince(runtime: LocalRuntime, table: string, since: Date): Promise<number> {
  let count = 0;
  // `.client(name)` adds the store's prefix (`hubOrders`); Table Storage stamps every insert and replace.
  const rows = runtime.composition.services.tables.client(table).listEntities({ queryOptions: { select: ['RowKey'], filter: odata`Timestamp ge ${since}` } });
  for await (const _ of rows) count += 1;
  return count;
}

/** Rows in an order-hub table (`Orders`, `Customers`, `OrderIndex`). */
export async function countRows(runtime: LocalRuntime, table: string): Promise<number> {
  let count = 0;
  for await (const _ of runtime.composition.services.tables.client(table).listEntities({ queryOptions: { select: ['RowKey'] } })) count += 1;
  return count;
}

/** The sandbox lists newest first: what came after `newest` is what is new. */
async function createdAfter(list: (params: { limit: number; ending_before?: string }) => AsyncIterable<unknown>, newest: string | undefined): Promise<number> {
  let count = 0;
  for await (const _ of list({ limit: 100, ...(newest ? { ending_before: newest } : {}) })) count += 1;
  return count;
}

/**
 * Marks the moment before a request (call it once the sandbox is idle). The mark lies a millisecond
 * ahead of everything written so far and is waited out, so only later writes are at or after it.
 */
export async function markWrites(stripe: Stripe): Promise<WriteMark> {
  const since = new Date(Date.now() + 1);
  const [intents, refunds] = await Promise.all([stripe.paymentIntents.list({ limit: 1 }), stripe.refunds.list({ limit: 1 })]);
  while (Date.now() <= since.getTime()) await new Promise((resolve) => setTimeout(resolve, 1));
  return { since, newestPaymentIntent: intents.data[0]?.id, newestRefund: refunds.data[0]?.id };
}

/** Everything written since the mark, in the three order-hub tables and the Stripe sandbox. */
export async function writesSince(runtime: LocalRuntime, stripe: Stripe, mark: WriteMark): Promise<Writes> {
  const [orders, customers, orderIndex, paymentIntents, refunds] = await Promise.all([
    rowsWrittenSince(runtime, ORDERS_TABLE, mark.since),
    rowsWrittenSince(runtime, CUSTOMERS_TABLE, mark.since),
    rowsWrittenSince(runtime, ORDER_INDEX_TABLE, mark.since),
    createdAfter((params) => stripe.paymentIntents.list(params), mark.newestPaymentIntent),
    createdAfter((params) => stripe.refunds.list(params), mark.newestRefund),
  ]);
  return { orders, customers, orderIndex, paymentIntents, refunds };
}

// ---- Raw JSON

const RAW_MARK = '\u0001raw\u0001';

/** A JSON token written as is: numbers JSON.stringify cannot produce (`1e400`, 30 digits, `-0`, `1.0`). */
export class RawJson {
  constructor(readonly text: string) {}
  toJSON(): string {
    return `${RAW_MARK}${this.text}${RAW_MARK}`;
  }
  toString(): string {
    return `RawJson(${this.text})`;
  }
}

/** JSON text of a value that may hold RawJson tokens. */
export function toJsonText(value: unknown): string {
  const mark = JSON.stringify(RAW_MARK).slice(1, -1);
  return (JSON.stringify(value) ?? 'null').split(`"${mark}`).join('').split(`${mark}"`).join('');
}

// ---- Adversarial values

const printable = fc.string({ unit: 'grapheme', maxLength: 30 });
const controlChar = fc
  .integer({ min: 0, max: 0x9f })
  .filter((code) => code < 0x20 || code >= 0x7f)
  .map((code) => String.fromCharCode(code));
const loneSurrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((code) => String.fromCharCode(code));
const around = (inner: fc.Arbitrary<string>) => fc.tuple(printable, inner, printable).map(([before, middle, after]) => before + middle + after);

/** Text at and around the schemas' bounds (40, 64, 100, 128, 200, 254/255, 500), in 1-, 2- and combining-unit characters. */
export const longText = fc
  .tuple(
    fc.constantFrom(31, 32, 33, 40, 41, 64, 65, 100, 101, 128, 129, 200, 201, 254, 255, 256, 500, 501, 5_000, 40_000),
    fc.constantFrom('x', 'ß', '€', '😀', 'e\u0301', ' ', '"', '\\'),
  )
  .map(([length, unit]) => unit.repeat(length));

/** Strings that have broken parsers, stores and templates elsewhere. */
export const trickyText = fc.constantFrom(
  '',
  ' ',
  '\t',
  '\n',
  '\u00a0',
  '\u200b',
  '\ufeff',
  '\u2028',
  '\u202e',
  'e\u0301',
  '\\',
  '"',
  "'",
  '%',
  '%00',
  '%2F',
  '../..',
  '<img src=x onerror=alert(1)>',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a template placeholder sent as text is the point.
  '${7*7}',
  '{{7*7}}',
  "' or ''='",
  "PartitionKey eq 'x'",
  '\ud83d',
  '\ude00',
  '\ude00\ud83d',
  '\uffff',
  '\ufffe',
  '\u0000',
  'NaN',
  'null',
  'undefined',
  '-0',
  '1e400',
  '__proto__',
);

/** Free text as an attacker would send it: printable, binary, control characters, lone surrogates, very long. */
export const nastyText: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.string({ unit: 'grapheme', maxLength: 80 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary-ascii', maxLength: 40 }) },
  { weight: 1, arbitrary: around(fc.string({ unit: controlChar, minLength: 1, maxLength: 3 })) },
  { weight: 1, arbitrary: around(fc.string({ unit: loneSurrogate, minLength: 1, maxLength: 2 })) },
  { weight: 1, arbitrary: longText },
  { weight: 2, arbitrary: trickyText },
);

/** Numbers where amounts and quantities go wrong: negative, fractional, huge, beyond a double, written oddly. */
export const nastyNumber: fc.Arbitrary<number | RawJson> = fc.oneof(
  fc.integer(),
  fc.integer({ min: -1_000, max: 1_000 }),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.constantFrom(
    0,
    -0,
    -1,
    0.5,
    1.5,
    0.1,
    1e-7,
    49,
    50,
    99_999_999,
    100_000_000,
    2 ** 31,
    2 ** 53,
    2 ** 53 + 2,
    Number.MAX_SAFE_INTEGER,
    Number.MIN_SAFE_INTEGER,
    Number.MAX_VALUE,
    -Number.MAX_VALUE,
    Number.MIN_VALUE,
    1e21,
  ),
  fc
    .constantFrom('1e400', '-1e400', '123456789012345678901234567890', '-0', '1.0', '1e2', '5e-324', '0.0000001', '100.00', '-0.0')
    .map((text) => new RawJson(text)),
);

/** Any value at all: text, numbers, JSON of any shape, odd containers. */
export const nastyValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: nastyText },
  { weight: 3, arbitrary: nastyNumber },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 1, arbitrary: fc.constantFrom(null, true, false, [], {}, [[[[[]]]]], { '': '' }) },
  { weight: 1, arbitrary: fc.array(nastyText, { maxLength: 3 }) },
);

// ---- Headers

/**
 * A header value as fetch can send it (a ByteString without NUL, CR or LF): Unicode goes as its UTF-8
 * bytes, which Node's server reads back as Latin-1. C0 controls other than tab are left out: Node's
 * HTTP parser refuses them before any application code runs.
 */
export const asHeaderBytes = (text: string): string =>
  Buffer.from(text, 'utf8')
    .toString('latin1')
    // biome-ignore lint/suspicious/noControlCharactersInRegex: exactly the characters a header may not carry.
    .replace(/[\u0000-\u0008\u000a-\u001f\u007f]/g, '');

/** Printable ASCII, as most header values are. */
export const headerText = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((code) => String.fromCharCode(code)), maxLength: 80 });

/** An Idempotency-Key: mostly fresh (so valid requests go through), else missing, empty, at and past 255, unicode, reused. */
export const idempotencyKey: fc.Arbitrary<string | undefined> = fc.oneof(
  { weight: 8, arbitrary: fc.constant(null).map(() => randomUUID()) },
  { weight: 1, arbitrary: fc.constant(undefined) },
  { weight: 1, arbitrary: fc.constantFrom('', ' ', '\t', 'k'.repeat(255), 'k'.repeat(256), 'k'.repeat(5_000), '\u00e9'.repeat(255), 'reused-key') },
  { weight: 1, arbitrary: headerText },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 120 }).map(asHeaderBytes) },
);

/** An If-Match: absent, the order's current or a past version, or anything else. */
export type IfMatch = undefined | { version: 'current' | 'stale' } | { header: string };
export const ifMatch: fc.Arbitrary<IfMatch> = fc.oneof(
  { weight: 3, arbitrary: fc.constant(undefined) },
  { weight: 2, arbitrary: fc.constantFrom<'current' | 'stale'>('current', 'stale').map((version) => ({ version })) },
  {
    weight: 2,
    arbitrary: fc
      .constantFrom(
        '*',
        '"1"',
        'W/"1"',
        'w/"1"',
        '"0"',
        '"-1"',
        '1',
        '""',
        '"abc"',
        '"999999999999"',
        '"9999999999999"',
        '"1.0"',
        '"1", "2", "3"',
        ',',
        'W/',
        '*, "1"',
        '"00000000000001"',
        '"1e3"',
        '" 1"',
      )
      .map((header) => ({ header })),
  },
  { weight: 1, arbitrary: headerText.map((header) => ({ header })) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 60 }).map((text) => ({ header: asHeaderBytes(text) })) },
);

// ---- Bodies

export const JSON_TYPE = 'application/json';
export const wrongContentType = fc.constantFrom(
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/xml',
  'application/json; charset=latin1',
  'application/jsonx',
  '*/*',
);
/** Content types that are JSON (the pipeline reads them). */
export const jsonContentType = fc.constantFrom(
  JSON_TYPE,
  JSON_TYPE,
  JSON_TYPE,
  'application/json; charset=utf-8',
  'APPLICATION/JSON',
  'application/json;charset="UTF-8"',
);

export interface RawBody {
  body?: string;
  contentType?: string;
}

/** A body of any shape: JSON, text that is not JSON (or not UTF-8), nothing, or the wrong content type. */
export const anyBody: fc.Arbitrary<RawBody> = fc.oneof(
  { weight: 3, arbitrary: nastyValue.map((value) => ({ body: toJsonText(value), contentType: JSON_TYPE })) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 200 }).map((body) => ({ body, contentType: JSON_TYPE })) },
  {
    weight: 1,
    arbitrary: fc.constantFrom('', ' ', '{', '[]]', '{"a":1,}', "{'a':1}", '\ufeff{}', 'nul', '1e400').map((body) => ({ body, contentType: JSON_TYPE })),
  },
  { weight: 1, arbitrary: fc.tuple(nastyValue, wrongContentType).map(([value, contentType]) => ({ body: toJsonText(value), contentType })) },
  { weight: 1, arbitrary: fc.constant({}) },
);

/** Sets (or with `undefined` removes) one dotted path, creating what is missing; keys such as `__proto__` become own properties. */
export function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.');
  let node: Record<string, unknown> = target;
  for (const [i, key] of keys.slice(0, -1).entries()) {
    const next = node[key];
    if (typeof next !== 'object' || next === null || !Object.hasOwn(node, key)) {
      Object.defineProperty(node, key, { value: /^\d+$/.test(keys[i + 1] as string) ? [] : {}, enumerable: true, configurable: true, writable: true });
    }
    node = node[key] as Record<string, unknown>;
  }
  const last = keys.at(-1) as string;
  if (value === undefined) delete node[last];
  else Object.defineProperty(node, last, { value, enumerable: true, configurable: true, writable: true });
}

/** A value present `present` times in `present + absent`, else undefined (a field left out). */
export const maybe = <T>(value: fc.Arbitrary<T>, present: number, absent: number): fc.Arbitrary<T | undefined> =>
  fc.oneof({ weight: present, arbitrary: value }, { weight: absent, arbitrary: fc.constant(undefined) });

/** An object of the optional entries that are not undefined. */
export const present = (entries: Record<string, unknown>): Record<string, unknown> =>
  Object.fromEntries(Object.entries(entries).filter(([, value]) => value !== undefined));

/** A path segment from random text (percent-encoded), or a value routers and key encoders trip over. */
export const junkSegment: fc.Arbitrary<string> = fc.oneof(
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 120 }).map(encodeURIComponent),
  fc.string({ unit: 'binary-ascii', minLength: 1, maxLength: 40 }).map(encodeURIComponent),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 20 }).map(encodeURIComponent),
  fc.constantFrom(
    '', // an empty segment
    '%',
    '%zz',
    '%ED%A0%80', // a lone surrogate in UTF-8
    '%C0%AF', // overlong `/`
    '%FF',
    '..',
    '.',
    '%2e%2e',
    '%00',
    '%2F',
    'a%2Fb',
    'a/b',
    'ord_x/history',
    '%5C',
    '%23',
    '%3F',
    "'",
    '%27',
    "x'%20or%20'1'='1",
    '%E2%80%AE',
    'a'.repeat(100),
    'a'.repeat(101),
    'a'.repeat(2_000),
    '%20',
    '~',
    '~2F',
    '%7E2F',
    '*',
    'cust%3A',
    'pay_',
    'ord_',
    '%F0%9F%98%80',
  ),
);

// ---- Echoes

/** Words the API may name because they are its own vocabulary (fields, statuses, providers, currencies, channels, limits). */
const VOCABULARY = new Set<string>([
  ...['source', 'externalId', 'currency', 'customer', 'email', 'name', 'phone', 'address', 'street', 'zip', 'city', 'country', 'items'],
  ...['sku', 'quantity', 'unitAmount', 'taxRatePercent', 'totalAmount', 'metadata', 'orderId', 'provider', 'amount', 'reason', 'to'],
  ...['order', 'orders', 'payment', 'payments', 'refund', 'refunds', 'Idempotency-Key', 'If-Match'],
  // Words of the validator's own messages ("expected string, received undefined").
  ...['undefined', 'null', 'string', 'number', 'boolean', 'object', 'array', 'expected', 'received', 'Infinity', '-Infinity', 'NaN'],
  ...ORDER_STATUSES,
  ...PAYMENT_STATUSES,
  ...PAYMENT_SUMMARIES,
  ...REFUND_STATUSES,
  ...PAYMENT_PROVIDERS,
  ...STRIPE_CURRENCIES,
  ...LOCAL_CHANNELS.split(','),
  String(MAX_MINOR_AMOUNT),
  '100000',
]);

/** Every string, object key and number a request carried (numbers as written), for the echo check. */
export function submittedValues(...values: unknown[]): string[] {
  const found: string[] = [];
  const walk = (value: unknown): void => {
    if (typeof value === 'string') found.push(value);
    else if (typeof value === 'number') found.push(String(value));
    else if (value instanceof RawJson) found.push(value.text);
    else if (Array.isArray(value)) value.forEach(walk);
    else if (typeof value === 'object' && value !== null) {
      for (const [key, inner] of Object.entries(value)) {
        found.push(key);
        walk(inner);
      }
    }
  };
  values.forEach(walk);
  return found;
}

/** A submitted value `text` quotes (its first 32 characters suffice), or undefined. Short and vocabulary values are not echoes. */
export function echoIn(text: string, submitted: readonly string[], minLength = 5): string | undefined {
  for (const value of submitted) {
    const forms = new Set([value, value.trim(), value.normalize('NFC').trim(), value.trim().toLowerCase()]);
    for (const form of forms) {
      if (form.length < minLength || VOCABULARY.has(form)) continue;
      if (text.includes(form.slice(0, 32))) return form;
    }
  }
  return undefined;
}
