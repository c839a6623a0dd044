/**
 * Conformance suite for local/channel-sandbox.ts: the receiving end of the hub's signed callbacks.
 * Callbacks are signed here with this file's own few lines of HMAC (checked against the Standard
 * Webhooks reference vector), not with the sandbox's code, so a mistake in either shows up. The
 * sandbox runs on a test-controlled clock, so timestamps and `seconds` faults need no waiting.
 */
import { createHmac } from 'node:crypto';
import { once } from 'node:events';
import http from 'node:http';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { waitFor } from '../support/wait';
import { ChannelSandbox, DEFAULT_CHANNELS, generateChannelSecret, localChannelSecrets } from '../../local/channel-sandbox';

const SECRETS = localChannelSecrets();
const START_MS = Date.UTC(2030, 0, 15, 12, 0, 0);
let clockMs = START_MS;
let sandbox: ChannelSandbox;

beforeAll(async () => {
  sandbox = await ChannelSandbox.start({ port: 0, channels: SECRETS, now: () => clockMs });
});

afterAll(async () => {
  await sandbox?.stop();
});

beforeEach(async () => {
  clockMs = START_MS;
  sandbox.setRejectInvalidSignatures(true);
  const cleared = await fetch(`${sandbox.url}/callbacks`, { method: 'DELETE' });
  expect(cleared.status).toBe(200);
});

// --- signing, independent of the sandbox ---------------------------------------------------------

/** One `v1,<base64>` entry: HMAC-SHA256 keyed with the base64-decoded part of `whsec_…` over "<id>.<ts>.<body>". */
function signEntry(secret: string, id: string, timestamp: number | string, body: string): string {
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  return `v1,${createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64')}`;
}

const nowSeconds = () => Math.floor(clockMs / 1000);

let counter = 0;
function callback(type = 'order.paid', data: Record<string, unknown> = { orderId: 'ord_1' }) {
  counter += 1;
  const id = `msg_${counter}_${Math.random().toString(36).slice(2, 10)}`;
  return { id, body: JSON.stringify({ id, type, createdAt: new Date(clockMs).toISOString(), data }) };
}

interface Send {
  source?: string;
  id?: string;
  body?: string;
  secret?: string;
  timestamp?: number | string;
  /** Replaces the computed `webhook-signature` header. */
  signature?: string;
  omit?: ('webhook-id' | 'webhook-timestamp' | 'webhook-signature')[];
  signal?: AbortSignal;
}

/** Posts a callback signed for `source` (woocommerce by default) as the hub would. */
async function send(options: Send = {}): Promise<{ response: Response; id: string; body: string }> {
  const source = options.source ?? 'woocommerce';
  const made = callback();
  const id = options.id ?? made.id;
  const body = options.body ?? made.body;
  const timestamp = options.timestamp ?? nowSeconds();
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'webhook-id': id,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': options.signature ?? signEntry(options.secret ?? SECRETS[source] ?? '', id, timestamp, body),
  };
  for (const name of options.omit ?? []) delete headers[name];
  const response = await fetch(`${sandbox.url}/callbacks/${source}`, { method: 'POST', headers, body, signal: options.signal });
  return { response, id, body };
}

async function listed(source?: string): Promise<{ status: number; items: Record<string, unknown>[] }> {
  const response = await fetch(`${sandbox.url}/callbacks${source === undefined ? '' : `?source=${source}`}`);
  const json = (await response.json()) as { items: Record<string, unknown>[] };
  return { status: response.status, items: json.items };
}

async function attemptsOverHttp(): Promise<Record<string, unknown>[]> {
  const response = await fetch(`${sandbox.url}/sandbox/attempts`);
  expect(response.status).toBe(200);
  return ((await response.json()) as { items: Record<string, unknown>[] }).items;
}

async function addFault(fault: Record<string, unknown>): Promise<Response> {
  return fetch(`${sandbox.url}/sandbox/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(fault) });
}

// --- tests ---------------------------------------------------------------------------------------

describe('secrets', () => {
  it("the test's signer reproduces the Standard Webhooks reference vector", () => {
    const entry = signEntry('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'msg_p5jXN8AQM9LWM0D4loKWxJek', 1614265330, '{"test": 2432232314}');
    expect(entry).toBe('v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=');
  });

  it('generates distinct whsec_ secrets of 32 random bytes, one per default channel', () => {
    expect(Object.keys(SECRETS)).toEqual([...DEFAULT_CHANNELS]);
    const all = [...Object.values(SECRETS), generateChannelSecret()];
    for (const secret of all) {
      expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
      expect(Buffer.from(secret.slice('whsec_'.length), 'base64')).toHaveLength(32);
    }
    expect(new Set(all).size).toBe(all.length);
  });

  it('refuses to start with a secret that is not whsec_<base64>, or without channels', async () => {
    await expect(ChannelSandbox.start({ port: 0, channels: { pos: 'not-a-whsec-secret' } })).rejects.toThrow(/whsec_/);
    await expect(ChannelSandbox.start({ port: 0, channels: { pos: 'whsec_***' } })).rejects.toThrow(/base64/);
    await expect(ChannelSandbox.start({ port: 0, channels: {} })).rejects.toThrow(/at least one channel/);
  });
});

describe('signature verification', () => {
  it('verifies the reference vector (the key is the decoded base64, not the text)', async () => {
    const reference = await ChannelSandbox.start({
      port: 0,
      channels: { vector: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' },
      now: () => 1614265330 * 1000,
    });
    try {
      const response = await fetch(`${reference.url}/callbacks/vector`, {
        method: 'POST',
        headers: {
          'webhook-id': 'msg_p5jXN8AQM9LWM0D4loKWxJek',
          'webhook-timestamp': '1614265330',
          'webhook-signature': 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
        },
        body: '{"test": 2432232314}',
      });
      // Signed correctly, but not a callback body: verified, then refused as content.
      expect(response.status).toBe(422);
      expect(reference.received('vector')).toMatchObject([{ signatureValid: true, body: { test: 2432232314 } }]);
    } finally {
      await reference.stop();
    }
  });

  it('stores a valid callback with signatureValid true and answers 200', async () => {
    const { response, id, body } = await send({ source: 'pos' });
    expect(response.status).toBe(200);
    const items = (await listed('pos')).items;
    expect(items).toEqual([
      {
        source: 'pos',
        webhookId: id,
        type: 'order.paid',
        signatureValid: true,
        body: JSON.parse(body),
        receivedAt: new Date(START_MS).toISOString(),
        attempt: 1,
      },
    ]);
    expect(sandbox.received('pos')).toEqual(items);
  });

  it('refuses a tampered body with 401 and stores it with signatureValid false', async () => {
    const made = callback('order.paid', { orderId: 'ord_1', amount: 100 });
    const timestamp = nowSeconds();
    const signature = signEntry(SECRETS.woocommerce ?? '', made.id, timestamp, made.body);
    const tampered = made.body.replace('"amount":100', '"amount":1');
    expect(tampered).not.toBe(made.body);
    const { response } = await send({ id: made.id, body: tampered, timestamp, signature });
    expect(response.status).toBe(401);
    expect(sandbox.received('woocommerce')).toMatchObject([{ webhookId: made.id, signatureValid: false, body: JSON.parse(tampered) }]);
    // The same headers over the untampered body do verify, so the 401 is the tampering's.
    const { response: untampered } = await send({ id: made.id, body: made.body, timestamp, signature });
    expect(untampered.status).toBe(200);
  });

  it("refuses a callback signed with another channel's secret, or with the secret's text as key", async () => {
    const other = await send({ source: 'woocommerce', secret: SECRETS.pos });
    expect(other.response.status).toBe(401);
    const made = callback();
    const textKey = `v1,${createHmac('sha256', SECRETS.woocommerce ?? '')
      .update(`${made.id}.${nowSeconds()}.${made.body}`)
      .digest('base64')}`;
    const wrongKey = await send({ ...made, signature: textKey });
    expect(wrongKey.response.status).toBe(401);
    expect(sandbox.received('woocommerce').map((c) => c.signatureValid)).toEqual([false, false]);
  });

  it('accepts timestamps up to 5 minutes either way and refuses staler or later ones', async () => {
    const cases: [offsetSeconds: number, status: number][] = [
      [-300, 200],
      [300, 200],
      [-301, 401],
      [301, 401],
      [-3600, 401],
    ];
    for (const [offset, status] of cases) {
      const { response } = await send({ timestamp: nowSeconds() + offset });
      expect({ offset, status: response.status }).toEqual({ offset, status });
    }
    expect(sandbox.received('woocommerce').map((c) => c.signatureValid)).toEqual([true, true, false, false, false]);
    const problems = sandbox.attempts('woocommerce').map((a) => a.signatureProblem);
    expect(problems).toEqual([undefined, undefined, 'timestamp_too_old', 'timestamp_too_new', 'timestamp_too_old']);
  });

  it('refuses a signed timestamp that is not unix seconds', async () => {
    const { response } = await send({ timestamp: new Date(clockMs).toISOString() });
    expect(response.status).toBe(401);
    expect(sandbox.attempts()).toMatchObject([{ signatureProblem: 'invalid_timestamp' }]);
  });

  it.each(['webhook-id', 'webhook-timestamp', 'webhook-signature'] as const)('refuses a callback without %s', async (name) => {
    const { response, body } = await send({ omit: [name] });
    expect(response.status).toBe(401);
    expect(sandbox.received('woocommerce')).toMatchObject([{ signatureValid: false, body: JSON.parse(body) }]);
    expect(sandbox.attempts()).toMatchObject([{ status: 401, outcome: 'invalid_signature', signatureProblem: 'missing_headers' }]);
  });

  it('verifies during a secret rotation when one of several signatures matches', async () => {
    const made = callback();
    const ts = nowSeconds();
    const oldSecret = generateChannelSecret();
    const valid = signEntry(SECRETS.woocommerce ?? '', made.id, ts, made.body);
    const stale = signEntry(oldSecret, made.id, ts, made.body);
    const asymmetric = 'v1a,hnO3f9T8Ytu9HwrXslvumlUpqtNVqkhqw/enGzPCXe5BdqzCInXqYXFymVJaA7AZdpXwVLPo3mNl8EM+m7TBAg==';

    expect((await send({ ...made, timestamp: ts, signature: `${stale} ${valid}` })).response.status).toBe(200);
    expect((await send({ ...made, timestamp: ts, signature: `${valid} ${stale}` })).response.status).toBe(200);
    expect((await send({ ...made, timestamp: ts, signature: `${asymmetric} ${valid}` })).response.status).toBe(200);
    // None matching: two stale entries, or the valid digest under another version tag.
    expect((await send({ ...made, timestamp: ts, signature: `${stale} ${signEntry(generateChannelSecret(), made.id, ts, made.body)}` })).response.status).toBe(
      401,
    );
    expect((await send({ ...made, timestamp: ts, signature: valid.replace(/^v1,/, 'v2,') })).response.status).toBe(401);
    expect((await send({ ...made, timestamp: ts, signature: valid.replace(/^v1,/, '') })).response.status).toBe(401);
    expect(sandbox.received('woocommerce').map((c) => c.signatureValid)).toEqual([true, true, true, false, false, false]);
  });

  it('when told not to reject, answers 200 to a bad signature and still records it as invalid', async () => {
    const toggled = await fetch(`${sandbox.url}/sandbox/signatures`, { method: 'POST', body: JSON.stringify({ reject: false }) });
    expect(toggled.status).toBe(200);
    const { response } = await send({ secret: generateChannelSecret() });
    expect(response.status).toBe(200);
    expect(sandbox.received()).toMatchObject([{ signatureValid: false }]);
  });

  it('refuses a signed body that is not a callback with 422, and a channel it does not play with 404', async () => {
    const made = callback();
    const notCallback = JSON.stringify({ id: made.id, type: 'order.paid', data: {} }); // no createdAt
    expect((await send({ id: made.id, body: notCallback })).response.status).toBe(422);
    expect(sandbox.received()).toMatchObject([{ signatureValid: true, type: 'order.paid' }]);

    expect((await send({ source: 'marketplace', secret: SECRETS.pos })).response.status).toBe(404);
    expect(sandbox.received()).toHaveLength(1);
    expect(sandbox.attempts().map((a) => [a.source, a.status, a.outcome])).toEqual([
      ['woocommerce', 422, 'invalid_body'],
      ['marketplace', 404, 'unknown_channel'],
    ]);
  });
});

describe('listing', () => {
  it('lists per channel and across channels, oldest first', async () => {
    const a = await send({ source: 'woocommerce' });
    clockMs += 1000;
    const b = await send({ source: 'pos' });
    clockMs += 1000;
    const c = await send({ source: 'woocommerce' });
    clockMs += 1000;
    const d = await send({ source: 'b2b' });

    expect((await listed('woocommerce')).items.map((i) => i.webhookId)).toEqual([a.id, c.id]);
    expect((await listed('pos')).items.map((i) => i.webhookId)).toEqual([b.id]);
    expect((await listed('b2b')).items.map((i) => i.webhookId)).toEqual([d.id]);
    const all = (await listed()).items;
    expect(all.map((i) => [i.source, i.webhookId])).toEqual([
      ['woocommerce', a.id],
      ['pos', b.id],
      ['woocommerce', c.id],
      ['b2b', d.id],
    ]);
    expect(all.map((i) => i.receivedAt)).toEqual([0, 1, 2, 3].map((s) => new Date(START_MS + s * 1000).toISOString()));
    expect(await listed('marketplace')).toMatchObject({ status: 404 });
  });

  it('clear() and DELETE /callbacks forget callbacks, attempts and faults', async () => {
    await send();
    sandbox.failNext(5);
    sandbox.clear();
    expect(sandbox.received()).toEqual([]);
    expect(sandbox.attempts()).toEqual([]);
    expect(sandbox.faults()).toEqual([]);

    await send();
    expect(sandbox.received()).toHaveLength(1);
    expect((await fetch(`${sandbox.url}/callbacks`, { method: 'DELETE' })).status).toBe(200);
    expect((await listed()).items).toEqual([]);
    expect(await attemptsOverHttp()).toEqual([]);
  });

  it('hands out copies: changing a listed callback changes nothing stored', async () => {
    await send();
    const [first] = sandbox.received();
    if (first) first.signatureValid = false;
    expect(sandbox.received()[0]?.signatureValid).toBe(true);
  });

  it('names each channel and its callback URL', async () => {
    expect(sandbox.callbackUrl('pos')).toBe(`${sandbox.url}/callbacks/pos`);
    const response = await fetch(`${sandbox.url}/sandbox/channels`);
    expect(await response.json()).toEqual({ items: DEFAULT_CHANNELS.map((source) => ({ source, url: `${sandbox.url}/callbacks/${source}` })) });
  });
});

describe('faults', () => {
  it('http500 fails the next N calls, then calls are received again; every attempt is listed', async () => {
    expect((await addFault({ count: 2 })).status).toBe(201);
    const made = callback();
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) {
      clockMs += 1000;
      statuses.push((await send({ ...made, timestamp: nowSeconds() })).response.status);
    }
    expect(statuses).toEqual([500, 500, 200]);
    // Only the call that got through was received; it was the third with this webhook-id.
    expect(sandbox.received()).toMatchObject([{ webhookId: made.id, signatureValid: true, attempt: 3 }]);
    expect(await attemptsOverHttp()).toEqual([
      { source: 'woocommerce', webhookId: made.id, at: new Date(START_MS + 1000).toISOString(), status: 500, outcome: 'fault', fault: 'http500' },
      { source: 'woocommerce', webhookId: made.id, at: new Date(START_MS + 2000).toISOString(), status: 500, outcome: 'fault', fault: 'http500' },
      { source: 'woocommerce', webhookId: made.id, at: new Date(START_MS + 3000).toISOString(), status: 200, outcome: 'accepted' },
    ]);
    expect(sandbox.faults()).toEqual([]);
  });

  it('rate_limited answers 429 with Retry-After, then normal again', async () => {
    expect((await addFault({ count: 1, kind: 'rate_limited', retryAfterSeconds: 17 })).status).toBe(201);
    const limited = (await send()).response;
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('17');
    const next = (await send()).response;
    expect(next.status).toBe(200);
    expect(next.headers.get('retry-after')).toBeNull();

    sandbox.failNext(1, { kind: 'rate_limited' });
    expect((await send()).response.headers.get('retry-after')).toBe('1');
  });

  it('gone answers 410, then normal again', async () => {
    sandbox.failNext(2, { kind: 'gone' });
    expect([(await send()).response.status, (await send()).response.status, (await send()).response.status]).toEqual([410, 410, 200]);
  });

  it("timeout holds the call without answering until the client's own abort fires, then normal again", async () => {
    expect((await addFault({ count: 1, kind: 'timeout' })).status).toBe(201);
    const controller = new AbortController();
    const pending = send({ signal: controller.signal });
    // Abort only once the sandbox has the call in hand (it is listed with no status yet).
    await waitFor(() => sandbox.attempts().length === 1);
    expect(sandbox.attempts()).toMatchObject([{ status: null, outcome: 'fault', fault: 'timeout' }]);
    controller.abort(new Error('client timeout'));
    await expect(pending).rejects.toThrow('client timeout');
    await waitFor(() => sandbox.attempts()[0]?.abortedAt !== undefined);

    expect((await send()).response.status).toBe(200);
    expect(sandbox.received()).toHaveLength(1);
    expect(sandbox.attempts().map((a) => a.status)).toEqual([null, 200]);
  });

  it('a channel fault fails only that channel', async () => {
    expect((await addFault({ count: 1, kind: 'http500', source: 'pos' })).status).toBe(201);
    expect((await send({ source: 'woocommerce' })).response.status).toBe(200);
    expect((await send({ source: 'b2b' })).response.status).toBe(200);
    expect((await send({ source: 'pos' })).response.status).toBe(500);
    expect((await send({ source: 'pos' })).response.status).toBe(200);
    expect((await addFault({ count: 1, source: 'marketplace' })).status).toBe(404);
  });

  it('a seconds fault fails every call until that much sandbox time has passed', async () => {
    expect((await addFault({ seconds: 30, kind: 'gone' })).status).toBe(201);
    expect(sandbox.faults()).toEqual([{ kind: 'gone', source: null, until: new Date(START_MS + 30_000).toISOString() }]);
    const statuses: number[] = [];
    for (const at of [0, 10_000, 29_999, 30_000]) {
      clockMs = START_MS + at;
      statuses.push((await send()).response.status);
    }
    expect(statuses).toEqual([410, 410, 410, 200]);
  });

  it('DELETE /sandbox/faults clears every fault', async () => {
    await addFault({ count: 10 });
    await addFault({ seconds: 60, kind: 'rate_limited' });
    expect((await send()).response.status).toBe(500);
    const cleared = await fetch(`${sandbox.url}/sandbox/faults`, { method: 'DELETE' });
    expect(cleared.status).toBe(200);
    expect(sandbox.faults()).toEqual([]);
    expect((await send()).response.status).toBe(200);
  });

  it('refuses a fault request that is not {count} or {seconds}', async () => {
    expect((await addFault({})).status).toBe(422);
    expect((await addFault({ count: 1, seconds: 1 })).status).toBe(422);
    expect((await addFault({ count: 0 })).status).toBe(422);
    expect((await addFault({ count: 1, kind: 'teapot' })).status).toBe(422);
    expect((await addFault({ count: 1, kind: 'gone', retryAfterSeconds: 3 })).status).toBe(422);
    expect(sandbox.faults()).toEqual([]);
  });
});

describe('stop', () => {
  it('frees the port at once, with a keep-alive connection and a held call open', async () => {
    const own = await ChannelSandbox.start({ port: 0, channels: { pos: SECRETS.pos ?? '' } });
    const port = own.port;
    expect(own.url).toBe(`http://127.0.0.1:${port}`);
    const agent = new http.Agent({ keepAlive: true });
    const get = () =>
      new Promise<number>((resolve, reject) => {
        http
          .get(`${own.url}/callbacks`, { agent }, (response) => {
            response.resume();
            response.on('end', () => resolve(response.statusCode ?? 0));
          })
          .on('error', reject);
      });
    expect(await get()).toBe(200);
    expect(agent.freeSockets[Object.keys(agent.freeSockets)[0] ?? '']?.length).toBe(1);

    own.failNext(1, { kind: 'timeout' });
    const held = fetch(`${own.url}/callbacks/pos`, { method: 'POST', body: '{}' }).then(
      () => 'answered',
      () => 'dropped',
    );
    await waitFor(() => own.attempts().length === 1);

    await own.stop();
    expect(await held).toBe('dropped');
    const again = http.createServer();
    again.listen(port, '127.0.0.1');
    await once(again, 'listening');
    await new Promise((resolve) => again.close(resolve));
    agent.destroy();
  });
});
