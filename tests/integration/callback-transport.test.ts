/**
 * shared/adapters/http/callback-transport.ts against a local HTTP server on 127.0.0.1: Standard
 * Webhooks headers verified with the `standardwebhooks` package, the body bytes, what is kept of the
 * answer, Retry-After, timeouts and refused connections, and the guard against private addresses
 * (also when a public-looking name resolves to one).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { HttpCallbackTransport, retryAfterMs } from '../../shared/adapters/http/callback-transport';
import type { CallbackEvent, ChannelEndpoint } from '../../shared/platform/callbacks';

const secretOf = (seed: string) => `whsec_${Buffer.from(seed.repeat(32).slice(0, 32)).toString('base64')}`;
const CURRENT = secretOf('current');
const PREVIOUS = secretOf('previous');

interface Received {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: Buffer;
}

/** A channel on 127.0.0.1 answering with whatever the test sets; it records requests and connections. */
class Channel {
  readonly received: Received[] = [];
  connections = 0;
  answer: (request: IncomingMessage, response: ServerResponse) => void = (_request, response) => response.writeHead(204).end();
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();

  constructor() {
    this.server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        this.received.push({ method: request.method ?? '', url: request.url ?? '', headers: request.headers, body: Buffer.concat(chunks) });
        this.answer(request, response);
      });
    });
    this.server.on('connection', (socket) => {
      this.connections++;
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  url(path = '/hooks/order-hub'): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  reset(): void {
    this.received.length = 0;
    this.connections = 0;
    this.answer = (_request, response) => response.writeHead(204).end();
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

let channel: Channel;

beforeAll(async () => {
  channel = new Channel();
  await channel.start();
});

afterEach(() => channel.reset());

afterAll(async () => {
  await channel?.stop();
});

/** A clock the test holds still; `Webhook.verify` checks the timestamp within 5 minutes of now, so it stands near now. */
const STILL = new Date(Math.floor(Date.now() / 1000) * 1000 - 42_000 + 250);
const stillClock = () => new Date(STILL);

function anEvent(overrides: Partial<CallbackEvent> = {}): CallbackEvent {
  return { id: 'cb_ord_1_order_v1', type: 'order.pending', createdAt: '2030-01-01T12:00:00.000Z', data: { id: 'ord_1', version: 1 }, ...overrides };
}

const local = (options: Partial<ConstructorParameters<typeof HttpCallbackTransport>[0]> = {}) =>
  new HttpCallbackTransport({ timeoutMs: 5_000, allowPrivate: true, now: stillClock, ...options });

const endpoint = (secrets: string[] = [CURRENT], url = channel.url()): ChannelEndpoint => ({ url, secrets });

const headersOf = (received: Received) => ({
  'webhook-id': String(received.headers['webhook-id']),
  'webhook-timestamp': String(received.headers['webhook-timestamp']),
  'webhook-signature': String(received.headers['webhook-signature']),
});

describe('HttpCallbackTransport, signing and sending', () => {
  it('posts the body with webhook-id, the clock as webhook-timestamp and a signature standardwebhooks verifies', async () => {
    const event = anEvent();
    const body = JSON.stringify(event);
    const attempt = await local().post(endpoint(), event, body);
    expect(attempt).toMatchObject({ statusCode: 204, at: STILL.toISOString(), durationMs: 0 });
    expect(attempt.error).toBeUndefined();
    expect(channel.received).toHaveLength(1);
    const [received] = channel.received as [Received];
    expect(received.method).toBe('POST');
    expect(received.url).toBe('/hooks/order-hub');
    expect(received.headers['content-type']).toBe('application/json');
    expect(received.headers['webhook-id']).toBe(event.id);
    expect(received.headers['webhook-timestamp']).toBe(String(Math.floor(STILL.getTime() / 1000)));
    expect(String(received.headers['webhook-signature'])).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
    expect(new Webhook(CURRENT).verify(received.body.toString('utf8'), headersOf(received))).toEqual(event);
  });

  it('the signature fails for another secret, another id or another body', async () => {
    const event = anEvent();
    const body = JSON.stringify(event);
    await local().post(endpoint(), event, body);
    const [received] = channel.received as [Received];
    expect(() => new Webhook(PREVIOUS).verify(received.body.toString('utf8'), headersOf(received))).toThrow(/signature/i);
    expect(() => new Webhook(CURRENT).verify(received.body.toString('utf8'), { ...headersOf(received), 'webhook-id': 'cb_other' })).toThrow(/signature/i);
    expect(() => new Webhook(CURRENT).verify(body.replace('"version":1', '"version":2'), headersOf(received))).toThrow(/signature/i);
  });

  it('signs with every secret while one is rotated: two signatures, each secret verifies', async () => {
    const event = anEvent();
    await local().post(endpoint([CURRENT, PREVIOUS]), event, JSON.stringify(event));
    const [received] = channel.received as [Received];
    const signatures = String(received.headers['webhook-signature']).split(' ');
    expect(signatures).toHaveLength(2);
    expect(signatures.every((signature) => signature.startsWith('v1,'))).toBe(true);
    expect(signatures[0]).not.toBe(signatures[1]);
    for (const secret of [CURRENT, PREVIOUS]) expect(new Webhook(secret).verify(received.body.toString('utf8'), headersOf(received))).toEqual(event);
    expect(() => new Webhook(secretOf('stranger')).verify(received.body.toString('utf8'), headersOf(received))).toThrow();
    // The first signature is the current secret's.
    expect(signatures[0]).toBe(new Webhook(CURRENT).sign(event.id, STILL, received.body.toString('utf8')));
  });

  it('sends the body bytes exactly as given, with their byte length', async () => {
    const event = anEvent({ data: { name: 'Wischerblätter €', emoji: '🚗' } });
    const body = `{"id":"cb_ord_1_order_v1",  "type":"order.pending","createdAt":"2030-01-01T12:00:00.000Z","data":{"name":"Wischerblätter €","emoji":"🚗"}}\n`;
    await local().post(endpoint(), event, body);
    const [received] = channel.received as [Received];
    expect(received.body.equals(Buffer.from(body, 'utf8'))).toBe(true);
    expect(received.headers['content-length']).toBe(String(Buffer.byteLength(body)));
    expect(new Webhook(CURRENT).verify(received.body, headersOf(received))).toEqual(JSON.parse(body));
  });

  it('keeps the first 512 bytes of the answer, and the status', async () => {
    const answer = 'A'.repeat(300) + 'B'.repeat(300) + 'C'.repeat(1_400);
    channel.answer = (_request, response) => {
      response.writeHead(500, { 'content-type': 'text/plain' });
      // In several chunks, as a slow channel writes it.
      response.write(answer.slice(0, 100));
      response.write(answer.slice(100, 700));
      response.end(answer.slice(700));
    };
    const attempt = await local().post(endpoint(), anEvent(), '{}');
    expect(attempt.statusCode).toBe(500);
    expect(attempt.response).toBe(answer.slice(0, 512));
    expect(attempt.response).toHaveLength(512);
  });

  it('keeps a short answer whole, and an empty one as empty', async () => {
    channel.answer = (_request, response) => response.writeHead(200).end('{"ok":true}');
    expect(await local().post(endpoint(), anEvent(), '{}')).toMatchObject({ statusCode: 200, response: '{"ok":true}' });
    channel.answer = (_request, response) => response.writeHead(410).end();
    expect(await local().post(endpoint(), anEvent(), '{}')).toMatchObject({ statusCode: 410, response: '' });
  });

  it('reads Retry-After in seconds', async () => {
    channel.answer = (_request, response) => response.writeHead(429, { 'retry-after': '120' }).end('slow down');
    const attempt = await local().post(endpoint(), anEvent(), '{}');
    expect(attempt).toMatchObject({ statusCode: 429, retryAfterMs: 120_000, response: 'slow down' });
  });

  it('reads Retry-After as an HTTP date, against the injected clock', async () => {
    const at = new Date(STILL.getTime() + 90_000 - 250); // HTTP dates have whole seconds
    channel.answer = (_request, response) => response.writeHead(503, { 'retry-after': at.toUTCString() }).end();
    const attempt = await local().post(endpoint(), anEvent(), '{}');
    expect(attempt.statusCode).toBe(503);
    expect(attempt.retryAfterMs).toBe(at.getTime() - STILL.getTime());
  });

  it('has no Retry-After when the channel sends none', async () => {
    channel.answer = (_request, response) => response.writeHead(503).end();
    expect((await local().post(endpoint(), anEvent(), '{}')).retryAfterMs).toBeUndefined();
  });

  it('reports a channel that never answers within timeoutMs as an error with no status', async () => {
    channel.answer = () => {
      // Never answers.
    };
    const attempt = await local({ timeoutMs: 150 }).post(endpoint(), anEvent(), '{}');
    expect(attempt.statusCode).toBeUndefined();
    expect(attempt.error).toMatch(/no answer within 150 ms/);
    expect(channel.received).toHaveLength(1);
  });

  it('reports a refused connection', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const attempt = await local().post(endpoint([CURRENT], `http://127.0.0.1:${port}/hooks`), anEvent(), '{}');
    expect(attempt.statusCode).toBeUndefined();
    expect(attempt.error).toMatch(/ECONNREFUSED/);
  });

  it('reports what is not a URL', async () => {
    const attempt = await local().post(endpoint([CURRENT], 'not a url'), anEvent(), '{}');
    expect(attempt).toMatchObject({ error: 'the callback URL is not a URL' });
    expect(attempt.statusCode).toBeUndefined();
  });

  it('resolves names with the given resolver when private addresses are allowed', async () => {
    const asked: string[] = [];
    const transport = local({
      resolve: async (hostname) => {
        asked.push(hostname);
        return [{ address: '127.0.0.1', family: 4 }];
      },
    });
    const attempt = await transport.post(endpoint([CURRENT], `http://pos.channel.test:${channel.port}/hooks`), anEvent(), '{}');
    expect(attempt.statusCode).toBe(204);
    expect(asked).toEqual(['pos.channel.test']);
    expect(channel.received[0]?.headers.host).toBe(`pos.channel.test:${channel.port}`);
  });
});

describe('HttpCallbackTransport, private addresses refused (allowPrivate false)', () => {
  const guarded = (addresses: Array<{ address: string; family: number }>) => {
    const asked: string[] = [];
    const transport = new HttpCallbackTransport({
      timeoutMs: 2_000,
      allowPrivate: false,
      now: stillClock,
      resolve: async (hostname) => {
        asked.push(hostname);
        return addresses;
      },
    });
    return { transport, asked };
  };

  it('refuses a public-looking name that resolves to 127.0.0.1, without any request reaching the server', async () => {
    const { transport, asked } = guarded([{ address: '127.0.0.1', family: 4 }]);
    const attempt = await transport.post(endpoint([CURRENT], `https://callbacks.shop.example:${channel.port}/hooks`), anEvent(), '{}');
    expect(attempt.statusCode).toBeUndefined();
    expect(attempt.error).toMatch(/private address/);
    expect(asked).toEqual(['callbacks.shop.example']);
    expect(channel.connections).toBe(0);
    expect(channel.received).toEqual([]);
  });

  it('refuses a name that resolves to 10.0.0.1, or to a public and a private address', async () => {
    for (const addresses of [
      [{ address: '10.0.0.1', family: 4 }],
      [{ address: '169.254.169.254', family: 4 }],
      [{ address: '::1', family: 6 }],
      [{ address: '::ffff:10.0.0.1', family: 6 }],
      [
        { address: '93.184.216.34', family: 4 },
        { address: '10.0.0.1', family: 4 },
      ],
    ]) {
      const { transport } = guarded(addresses);
      const attempt = await transport.post(endpoint([CURRENT], 'https://callbacks.shop.example/hooks'), anEvent(), '{}');
      expect(attempt.error, JSON.stringify(addresses)).toMatch(/private address/);
      expect(attempt.statusCode).toBeUndefined();
    }
    expect(channel.connections).toBe(0);
  });

  it('refuses plain http and private literals before resolving anything', async () => {
    const { transport, asked } = guarded([{ address: '93.184.216.34', family: 4 }]);
    for (const url of [
      `http://127.0.0.1:${channel.port}/hooks`,
      'http://callbacks.shop.example/hooks',
      `https://127.0.0.1:${channel.port}/hooks`,
      `https://localhost:${channel.port}/hooks`,
      `https://[::1]:${channel.port}/hooks`,
      'https://10.0.0.1/hooks',
      'https://orders.internal/hooks',
    ]) {
      const attempt = await transport.post(endpoint([CURRENT], url), anEvent(), '{}');
      expect(attempt, url).toMatchObject({ error: 'callback URLs must be https and public', at: STILL.toISOString() });
      expect(attempt.statusCode).toBeUndefined();
    }
    expect(asked).toEqual([]);
    expect(channel.connections).toBe(0);
  });

  it('reports a name that does not resolve', async () => {
    const transport = new HttpCallbackTransport({
      timeoutMs: 2_000,
      allowPrivate: false,
      resolve: async () => {
        throw Object.assign(new Error('getaddrinfo ENOTFOUND nowhere.example'), { code: 'ENOTFOUND' });
      },
    });
    const attempt = await transport.post(endpoint([CURRENT], 'https://nowhere.example/hooks'), anEvent(), '{}');
    expect(attempt.statusCode).toBeUndefined();
    expect(attempt.error).toMatch(/ENOTFOUND/);
  });
});

describe('retryAfterMs', () => {
  const now = new Date('2030-01-01T12:00:00.000Z');

  it('reads seconds and HTTP dates, a past date as 0, and nothing else', () => {
    expect(retryAfterMs('0', now)).toBe(0);
    expect(retryAfterMs('30', now)).toBe(30_000);
    expect(retryAfterMs(' 5 ', now)).toBe(5_000);
    expect(retryAfterMs('Wed, 01 Jan 2030 12:02:00 GMT', now)).toBe(120_000);
    expect(retryAfterMs('Wed, 01 Jan 2030 11:00:00 GMT', now)).toBe(0);
    expect(retryAfterMs(undefined, now)).toBeUndefined();
    expect(retryAfterMs('', now)).toBeUndefined();
    expect(retryAfterMs('soon', now)).toBeUndefined();
  });
});
