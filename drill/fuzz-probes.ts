/**
 * Requests for the fuzz drill, generated with fast-check from the function table: for every HTTP
 * route its own method (mostly) or another, real ids or junk path segments, the right key or a wrong
 * one, and bodies that are valid, valid with one field replaced by anything, carrying a character the
 * text rule refuses, of any shape, or of the wrong content type. Webhooks get unsigned, forged and
 * validly signed arbitrary payloads. The adversarial values come from the order-hub fuzzer's
 * generators (tests/support/order-fuzz.ts).
 */
import { createHmac, randomUUID } from 'node:crypto';
import fc from 'fast-check';
import type { HttpFunctionDef, Role } from '../shared/function-table';
import {
  anyBody,
  asHeaderBytes,
  headerText,
  idempotencyKey,
  junkSegment,
  nastyNumber,
  nastyText,
  nastyValue,
  type RawBody,
  setPath,
  toJsonText,
  wrongContentType,
} from '../tests/support/order-fuzz';
import { bookingBody, orderBody } from './fixtures';

const JSON_TYPE = 'application/json';

/** One request, and what it aims at. */
export interface Probe {
  /** `METHOD route` of the function it aims at, `(unknown route)` for paths no function serves. */
  target: string;
  /** How it was made: `valid`, `field`, `text rule`, `any body`, `content type`, `encoding`, `method`, `huge body`, `unsigned`, `signed`, `path`. */
  kind: string;
  method: string;
  /** Below `/api`, percent-encoded. */
  path: string;
  token?: string;
  headers: Record<string, string>;
  body?: string;
  contentType?: string;
  /** Set when the request must be refused: a text-rule violation in this field, a body over 1 MiB, a webhook without a valid signature. */
  mustRefuse?: string;
}

/** Real things for probes to aim at, made by the drill before it fuzzes. */
export interface FuzzTargets {
  keys: Record<Role, string>;
  bookingToken: string;
  /** Real values by `<resource>:<param>`, e.g. `bookings:id`, `orders:externalId`, `admin:queue`. */
  ids: Record<string, string[]>;
  stripeWebhookSecret: string;
  driverSecret: string;
  /** Signs a Stripe webhook payload the way Stripe does. */
  signStripe(payload: string, secret: string): string;
}

/** A body a route takes, and which of its fields are free text (multi-line or not). */
interface BodySpec {
  seed(targets: FuzzTargets): Record<string, unknown>;
  text: Array<[path: string, multiline: boolean]>;
}

const first = (targets: FuzzTargets, key: string) => targets.ids[key]?.[0] ?? 'none';

const BODIES: Record<string, BodySpec> = {
  'POST v1/bookings': {
    seed: () => bookingBody(),
    text: [
      ['customer.name', false],
      ['vehicle.brand', false],
      ['vehicle.model', false],
      ['pickup.address.street', false],
      ['pickup.address.city', false],
      ['delivery.address.street', false],
      ['delivery.address.city', false],
      ['notes', true],
    ],
  },
  'POST v1/bookings/{id}/findings': { seed: () => ({ description: 'Wischerblätter verschlissen', priceCents: 2_990 }), text: [['description', true]] },
  'POST v1/bookings/{id}/jockey': {
    seed: () => ({ name: 'Jonas', phone: '+49 151 000', leg: 'pickup' }),
    text: [
      ['name', false],
      ['phone', false],
    ],
  },
  'POST v1/bookings/{id}/trips/{leg}/status': { seed: () => ({ status: 'assigned', reason: 'Stau auf der A9' }), text: [['reason', true]] },
  'POST v1/orders': {
    seed: () => orderBody(),
    text: [
      ['externalId', false],
      ['customer.name', false],
      ['customer.address.street', false],
      ['customer.address.city', false],
      ['items.0.sku', false],
      ['items.0.name', false],
      ['metadata.note', false],
    ],
  },
  'POST v1/orders/{id}/transitions': { seed: () => ({ to: 'confirmed', reason: 'drill' }), text: [['reason', false]] },
  'POST v1/payments': { seed: (targets) => ({ orderId: first(targets, 'orders:id'), provider: 'stripe' }), text: [] },
  'POST v1/payments/{id}/refunds': { seed: () => ({ amount: 100, reason: 'drill' }), text: [['reason', false]] },
  'POST v1/admin/dead-letters/{queue}/replay': { seed: () => ({ type: 'booking.sync' }), text: [] },
  'DELETE v1/admin/dead-letters/{queue}/{messageId}': { seed: () => ({ reason: 'drill discard' }), text: [] },
  'POST v1/admin/callbacks/replay': { seed: () => ({ source: 'pos', since: new Date(Date.now() - 60_000).toISOString() }), text: [] },
};

/** Every dotted path of a value's leaves (and of its objects), for one-field edits. */
function paths(value: unknown, prefix = ''): string[] {
  if (typeof value !== 'object' || value === null) return prefix ? [prefix] : [];
  const entries = Array.isArray(value) ? value.map((item, i) => [String(i), item] as const) : Object.entries(value);
  return [...(prefix ? [prefix] : []), ...entries.flatMap(([key, inner]) => paths(inner, prefix ? `${prefix}.${key}` : key))];
}

/** One character the text rule refuses: a C0 or C1 control (line breaks only where one line is wanted), NUL, or a lone surrogate. */
const refusedCharacter = (multiline: boolean) =>
  fc.oneof(
    fc
      .oneof(fc.integer({ min: 0x00, max: 0x1f }), fc.integer({ min: 0x7f, max: 0x9f }))
      .filter((code) => !multiline || ![0x09, 0x0a, 0x0d].includes(code))
      .map((code) => String.fromCharCode(code)),
    fc.constant('\u0000'),
    fc.integer({ min: 0xd800, max: 0xdfff }).map((code) => String.fromCharCode(code)),
  );

interface BodyChoice {
  kind: string;
  raw: RawBody;
  mustRefuse?: string;
}

/** A text-rule violation in one free-text field of a valid body. */
function textRuleBody(spec: BodySpec, targets: FuzzTargets): fc.Arbitrary<BodyChoice> {
  return fc.constantFrom(...spec.text).chain(([path, multiline]) =>
    fc
      .tuple(fc.string({ unit: 'grapheme', maxLength: 12 }), refusedCharacter(multiline), fc.string({ unit: 'grapheme-ascii', maxLength: 12 }))
      .map(([before, bad, after]) => {
        const body = spec.seed(targets);
        // JSON.stringify writes a lone surrogate as its \udXXX escape: valid JSON, as a client sends it.
        setPath(body, path, `Text${before}${bad}${after}`);
        return {
          kind: 'text rule',
          raw: { body: JSON.stringify(body), contentType: JSON_TYPE },
          mustRefuse: `${path} with U+${bad.charCodeAt(0).toString(16).padStart(4, '0')}`,
        };
      }),
  );
}

function bodyFor(key: string, targets: FuzzTargets): fc.Arbitrary<BodyChoice> {
  const spec = BODIES[key];
  const shapeless = anyBody.map((raw): BodyChoice => ({ kind: 'any body', raw }));
  if (!spec) return shapeless;
  const seedPaths = [...paths(spec.seed(targets)), 'extra', '__proto__', 'customer.vip'];
  const choices: Array<fc.WeightedArbitrary<BodyChoice>> = [
    { weight: 1, arbitrary: fc.constant(null).map(() => ({ kind: 'valid', raw: { body: JSON.stringify(spec.seed(targets)), contentType: JSON_TYPE } })) },
    {
      weight: 4,
      arbitrary: fc
        .tuple(fc.constantFrom(...seedPaths), fc.oneof({ weight: 5, arbitrary: nastyValue }, { weight: 1, arbitrary: fc.constant(undefined) }))
        .map(([path, value]) => {
          const body = spec.seed(targets);
          setPath(body, path, value);
          return { kind: 'field', raw: { body: toJsonText(body), contentType: JSON_TYPE } };
        }),
    },
    { weight: 1, arbitrary: shapeless },
    {
      weight: 1,
      arbitrary: wrongContentType.map((contentType) => ({ kind: 'content type', raw: { body: JSON.stringify(spec.seed(targets)), contentType } })),
    },
  ];
  if (spec.text.length > 0) choices.push({ weight: 2, arbitrary: textRuleBody(spec, targets) });
  return fc.oneof(...choices);
}

/** A path parameter: a real value (encoded) most of the time, else a segment routers and key encoders trip over. */
function segment(targets: FuzzTargets, resource: string, param: string): fc.Arbitrary<string> {
  const real = targets.ids[`${resource}:${param}`] ?? [];
  if (real.length === 0) return junkSegment;
  return fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...real).map(encodeURIComponent) }, { weight: 1, arbitrary: junkSegment });
}

/** The route's path with every `{param}` filled. */
function pathFor(def: HttpFunctionDef, targets: FuzzTargets): fc.Arbitrary<string> {
  const parts = def.route.split('/');
  const resource = parts[1] ?? '';
  return fc
    .tuple(...parts.map((part) => (/^\{.+\}$/.test(part) ? segment(targets, resource, part.slice(1, -1)) : fc.constant(part))))
    .map((filled) => `/${filled.join('/')}`);
}

/** A query string: the parameters routes read (`lang`, `max`, `limit`, `since`, …) and junk ones, with any values. */
const queryString: fc.Arbitrary<string> = fc
  .array(
    fc.tuple(
      fc.oneof(fc.constantFrom('lang', 'max', 'limit', 'since', 'subject', 'status', 'source', 'lang[]', '__proto__'), junkSegment),
      fc.oneof(fc.constantFrom('en', 'de', '0', '-1', '501', '1e3', 'failed', 'pos', '2020-01-01T00:00:00Z', ''), junkSegment),
    ),
    { minLength: 1, maxLength: 3 },
  )
  .map((pairs) => `?${pairs.map(([name, value]) => `${name}=${value}`).join('&')}`);

/** Who calls: mostly a caller the route takes, sometimes another key, none, or junk. */
function tokenFor(def: HttpFunctionDef, targets: FuzzTargets): fc.Arbitrary<string | undefined> {
  const allowed: Array<string | undefined> = def.roles ? def.roles.map((role) => targets.keys[role]) : [undefined];
  if (def.route.startsWith('v1/bookings/{id}')) allowed.push(targets.bookingToken);
  return fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...allowed) },
    { weight: 1, arbitrary: fc.constantFrom(targets.keys.admin, targets.keys.workshop, targets.keys.orders, targets.keys.support, targets.bookingToken) },
    { weight: 1, arbitrary: fc.constant(undefined) },
    { weight: 1, arbitrary: fc.oneof(headerText, fc.string({ unit: 'grapheme', maxLength: 40 }).map(asHeaderBytes)) },
  );
}

/** Probes for an ordinary (not webhook) route. */
function routeProbes(def: HttpFunctionDef, targets: FuzzTargets): fc.Arbitrary<Probe> {
  return fc.constantFrom(...def.methods).chain((method) => {
    const key = `${method} ${def.route}`;
    return fc
      .record({
        path: pathFor(def, targets),
        token: tokenFor(def, targets),
        other: fc.oneof({ weight: 8, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE') }),
        body: bodyFor(key, targets),
        idempotency: def.idempotent
          ? fc.oneof({ weight: 6, arbitrary: fc.constant(null).map(() => randomUUID()) }, { weight: 2, arbitrary: idempotencyKey })
          : fc.constant(undefined),
        ifMatch: fc.oneof(
          { weight: 6, arbitrary: fc.constant(undefined) },
          { weight: 1, arbitrary: fc.constantFrom('"1"', '*', 'W/"1"', '"x"') },
          { weight: 1, arbitrary: headerText },
        ),
        encoding: fc.oneof(
          { weight: 12, arbitrary: fc.constant(undefined) },
          { weight: 1, arbitrary: fc.constantFrom('gzip', 'deflate', 'br', 'identity', 'x-junk') },
        ),
        query: fc.oneof({ weight: 3, arbitrary: fc.constant('') }, { weight: 1, arbitrary: queryString }),
      })
      .map(({ path, token, other, body, idempotency, ifMatch, encoding, query }) => {
        const headers: Record<string, string> = {};
        if (idempotency !== undefined) headers['idempotency-key'] = idempotency;
        if (ifMatch !== undefined) headers['if-match'] = ifMatch;
        if (encoding !== undefined) headers['content-encoding'] = encoding;
        const sent = other ?? method;
        return {
          target: key,
          kind: other ? 'method' : encoding && encoding !== 'identity' ? 'encoding' : body.kind,
          method: sent,
          path: `${path}${query}`,
          token,
          headers,
          ...(sent === 'GET' ? {} : { body: body.raw.body, contentType: body.raw.contentType }),
          // Under another method the request may reach another function; with a wrong key it must still be refused.
          ...(body.mustRefuse && !other ? { mustRefuse: body.mustRefuse } : {}),
        };
      });
  });
}

// ---- webhooks

/** Mostly a value of the right type, sometimes anything. */
const field = <T>(valid: fc.Arbitrary<T>) => fc.oneof({ weight: 10, arbitrary: valid }, { weight: 1, arbitrary: nastyValue });
const realOr = (values: readonly string[]) => (values.length > 0 ? fc.oneof(fc.constantFrom(...values), nastyText) : nastyText);

function stripeEvents(targets: FuzzTargets): fc.Arbitrary<unknown> {
  const metadata = fc.record(
    {
      bookingId: field(realOr(targets.ids['bookings:id'] ?? [])),
      findingId: field(realOr(targets.ids['bookings:findingId'] ?? [])),
      orderId: field(realOr(targets.ids['orders:id'] ?? [])),
      paymentId: field(realOr(targets.ids['payments:id'] ?? [])),
    },
    { requiredKeys: [] },
  );
  const intent = fc.record({
    object: fc.constant('payment_intent'),
    id: field(realOr(targets.ids['stripe:paymentIntent'] ?? [])),
    status: field(fc.constantFrom('succeeded', 'processing', 'requires_action', 'requires_payment_method', 'canceled')),
    amount: field(fc.integer({ min: 0, max: 99_999_999 })),
    amount_received: field(fc.integer({ min: 0, max: 99_999_999 })),
    currency: field(fc.constantFrom('eur', 'usd', 'EUR')),
    customer: field(fc.option(fc.string())),
    payment_method: field(fc.option(fc.string())),
    metadata: field(metadata),
    last_payment_error: field(
      fc.option(fc.record({ code: field(fc.constantFrom('card_declined', 'authentication_required')), message: field(nastyText) }, { requiredKeys: [] })),
    ),
  });
  const charge = fc.record({
    object: fc.constant('charge'),
    id: field(fc.string({ maxLength: 30 })),
    amount: field(fc.integer({ min: 0, max: 99_999_999 })),
    amount_refunded: field(nastyNumber),
    currency: field(fc.constant('eur')),
    payment_intent: field(fc.option(realOr(targets.ids['stripe:paymentIntent'] ?? []))),
    metadata: field(metadata),
  });
  return fc.record({
    id: field(fc.string({ minLength: 1, maxLength: 60 }).map((id) => `evt_${id}`)),
    object: fc.constant('event'),
    type: field(
      fc.constantFrom(
        'payment_intent.succeeded',
        'payment_intent.processing',
        'payment_intent.requires_action',
        'payment_intent.payment_failed',
        'payment_intent.canceled',
        'charge.refunded',
        'charge.succeeded',
        'customer.created',
      ),
    ),
    created: field(fc.integer({ min: 0, max: 2 ** 31 })),
    data: field(fc.record({ object: fc.oneof({ weight: 3, arbitrary: intent }, { weight: 2, arbitrary: charge }, { weight: 1, arbitrary: nastyValue }) })),
  });
}

function driverUpdates(targets: FuzzTargets): fc.Arbitrary<unknown> {
  return fc.record(
    {
      tripId: field(realOr(targets.ids['driver:tripId'] ?? [])),
      bookingId: field(realOr(targets.ids['bookings:id'] ?? [])),
      type: field(fc.constantFrom('b2c_pickup', 'b2c_delivery')),
      status: field(fc.constantFrom('assigned', 'in_progress', 'arrived', 'failed')),
      occurredAt: field(fc.date({ noInvalidDate: true, min: new Date('2000-01-01'), max: new Date('2100-01-01') }).map((date) => date.toISOString())),
      sequence: field(fc.integer({ min: 0, max: 1_000_000 })),
      reason: nastyText,
      driver: field(fc.record({ name: nastyText, phone: nastyText }, { requiredKeys: [] })),
    },
    { requiredKeys: ['tripId', 'bookingId', 'type', 'status', 'occurredAt'] },
  );
}

const hmacHex = (secret: string, body: string) => createHmac('sha256', secret).update(body).digest('hex');

/** Probes for a signed webhook: unsigned or forged (must be refused), or validly signed with arbitrary content. */
function webhookProbes(def: HttpFunctionDef, targets: FuzzTargets): fc.Arbitrary<Probe> {
  const target = `POST ${def.route}`;
  const path = `/${def.route}`;
  const forged = fc.tuple(anyBody, headerText, fc.integer({ min: 0, max: 2 ** 32 })).map(([raw, junk, t]) => ({ raw, junk, t }));
  if (def.route === 'v1/webhooks/stripe') {
    const unsigned = forged.chain(({ raw, junk, t }) =>
      fc.constantFrom<string | undefined>(undefined, junk, `t=${t},v1=${'0'.repeat(64)}`, targets.signStripe(raw.body ?? '', 'whsec_forged')).map(
        (signature): Probe => ({
          target,
          kind: 'unsigned',
          method: 'POST',
          path,
          headers: signature === undefined ? {} : { 'stripe-signature': signature },
          body: raw.body,
          contentType: raw.contentType,
          mustRefuse: 'signature',
        }),
      ),
    );
    const signed = stripeEvents(targets).map((payload): Probe => {
      const body = toJsonText(payload);
      return {
        target,
        kind: 'signed',
        method: 'POST',
        path,
        headers: { 'stripe-signature': targets.signStripe(body, targets.stripeWebhookSecret) },
        body,
        contentType: JSON_TYPE,
      };
    });
    return fc.oneof(unsigned, { weight: 2, arbitrary: signed });
  }
  if (def.route === 'v1/webhooks/driver-app') {
    const now = () => String(Math.floor(Date.now() / 1000));
    const unsigned = fc.tuple(forged, driverUpdates(targets)).chain(([{ raw, junk }, update]) => {
      const body = toJsonText(update);
      return fc
        .constantFrom<Record<string, string>>(
          { 'x-webhook-timestamp': now() },
          { 'x-webhook-signature': junk, 'x-webhook-timestamp': now() },
          { 'x-webhook-signature': hmacHex('not-the-secret', body), 'x-webhook-timestamp': now() },
          { 'x-webhook-signature': hmacHex(targets.driverSecret, body), 'x-webhook-timestamp': String(Math.floor(Date.now() / 1000) - 3_600) },
          { 'x-webhook-signature': hmacHex(targets.driverSecret, body), 'x-webhook-timestamp': now(), tampered: 'yes' },
        )
        .map(
          ({ tampered, ...headers }): Probe => ({
            target,
            kind: 'unsigned',
            method: 'POST',
            path,
            headers,
            body: tampered ? `${body} ` : (raw.body ?? body),
            contentType: JSON_TYPE,
            mustRefuse: 'signature',
          }),
        );
    });
    const signed = driverUpdates(targets).map((update): Probe => {
      const body = toJsonText(update);
      return {
        target,
        kind: 'signed',
        method: 'POST',
        path,
        headers: { 'x-webhook-signature': hmacHex(targets.driverSecret, body), 'x-webhook-timestamp': now() },
        body,
        contentType: JSON_TYPE,
      };
    });
    return fc.oneof(unsigned, { weight: 2, arbitrary: signed });
  }
  // Any other signed webhook: arbitrary bodies under signature headers that cannot verify.
  return forged.map(({ raw, junk }) => ({
    target,
    kind: 'unsigned',
    method: 'POST',
    path,
    headers: { 'btcpay-sig': `sha256=${junk}`, 'stripe-signature': junk, 'x-webhook-signature': junk },
    body: raw.body,
    contentType: raw.contentType,
    mustRefuse: 'signature',
  }));
}

/** Paths no function serves. */
const unknownRoutes: fc.Arbitrary<Probe> = fc
  .tuple(
    junkSegment,
    fc.constantFrom('/v1/', '/v1/bookings/x/y/', '/', '/v2/', '/v1/orders/../admin/', '/v1/admin/dead-letters/odoo-sync/x/y/'),
    fc.constantFrom('GET', 'POST', 'DELETE'),
    anyBody,
  )
  .map(([junk, prefix, method, raw]) => ({
    target: '(unknown route)',
    kind: 'path',
    method,
    path: `${prefix}${junk}`,
    headers: {},
    ...(method === 'GET' ? {} : { body: raw.body, contentType: raw.contentType }),
  }));

/** `runs` probes per HTTP function (twice as many per webhook), then text-rule probes for every free-text field, then unknown paths. */
export function generateProbes(defs: readonly HttpFunctionDef[], targets: FuzzTargets, runs: number, seed: number): Probe[] {
  const probes: Probe[] = [];
  defs.forEach((def, i) => {
    const arbitrary = def.verify ? webhookProbes(def, targets) : routeProbes(def, targets);
    probes.push(...fc.sample(arbitrary, { numRuns: def.verify ? 2 * runs : runs, seed: seed + i }));
  });
  Object.entries(BODIES).forEach(([key, spec], i) => {
    if (spec.text.length === 0) return;
    const [method = 'POST', route = ''] = key.split(' ');
    const def = defs.find((candidate) => candidate.route === route && candidate.methods.includes(method as 'POST'));
    if (!def) return;
    const probe = fc.record({ path: pathFor(def, targets), body: textRuleBody(spec, targets) }).map(({ path, body }): Probe => {
      const allowed = def.roles?.[0];
      return {
        target: key,
        kind: 'text rule',
        method,
        path,
        token: allowed ? targets.keys[allowed] : undefined,
        headers: def.idempotent ? { 'idempotency-key': randomUUID() } : {},
        body: body.raw.body,
        contentType: body.raw.contentType,
        mustRefuse: body.mustRefuse,
      };
    });
    probes.push(...fc.sample(probe, { numRuns: spec.text.length * Math.max(2, Math.round(runs / 6)), seed: seed + 1_000 + i }));
  });
  probes.push(...fc.sample(unknownRoutes, { numRuns: runs, seed: seed + 2_000 }));
  probes.push(...hugeBodies(defs, targets));
  return probes;
}

/** Past the 1 MiB limit, once per route that takes a body: a valid body with one huge string in it. */
function hugeBodies(defs: readonly HttpFunctionDef[], targets: FuzzTargets): Probe[] {
  const huge = 'x'.repeat(1_100_000);
  const realPath = (def: HttpFunctionDef) =>
    `/${def.route.replace(/\{([^}]+)\}/g, (_, param: string) => encodeURIComponent(targets.ids[`${def.route.split('/')[1]}:${param}`]?.[0] ?? 'x'))}`;
  return defs.flatMap((def) =>
    def.methods
      .filter((method) => method !== 'GET')
      .map((method): Probe => {
        const key = `${method} ${def.route}`;
        const spec = BODIES[key];
        const body = spec ? spec.seed(targets) : {};
        setPath(body, spec?.text[0]?.[0] ?? 'huge', huge);
        const allowed = def.roles?.[0];
        return {
          target: key,
          kind: 'huge body',
          method,
          path: realPath(def),
          token: allowed ? targets.keys[allowed] : undefined,
          headers: def.idempotent ? { 'idempotency-key': randomUUID() } : {},
          body: JSON.stringify(body),
          contentType: JSON_TYPE,
          mustRefuse: 'a body over 1 MiB',
        };
      }),
  );
}

/** Routes the probes aim at, for the coverage line. */
export function routesOf(defs: readonly HttpFunctionDef[]): string[] {
  return defs.flatMap((def) => def.methods.map((method) => `${method} ${def.route}`));
}
