import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request the app sent towards the Driver-App, as it crossed the proxy. */
export interface ProxiedRequest {
  method: string;
  path: string;
  idempotencyKey: string | null;
  /** `bookingId` and `type` of a trip body, when it was one. */
  bookingId: string | null;
  type: string | null;
  /** SHA-256 of the exact body bytes: two sends of one trip must match. */
  bodyHash: string;
  /** What the Driver-App answered (null: no answer, or the proxy answered for it). */
  upstreamStatus: number | null;
  /** Whether the app was still waiting when the answer came (false: it had given up, e.g. its timeout). */
  answered: boolean;
}

/**
 * A recording HTTP forwarder between the app and the Driver-App sandbox. The sandbox keeps only the
 * first copy of a trip; the proxy sees every send, so a drill can tell a retry that repeats the trip
 * byte for byte from one that sends something else under the same key. `down` plays an outage in
 * front of the Driver-App (every call answered 503, nothing forwarded).
 */
export class DriverProxy {
  /** While true, calls are answered 503 and never reach the Driver-App. */
  down = false;
  private readonly seen: ProxiedRequest[] = [];

  private constructor(
    private readonly server: http.Server,
    private readonly upstream: string,
  ) {
    server.on('request', (request, response) => {
      this.forward(request, response).catch(() => {
        if (!response.headersSent) response.destroy();
      });
    });
  }

  /** Listens on a free port of 127.0.0.1 and forwards to `upstream` (the sandbox's base URL). */
  static async start(upstream: string): Promise<DriverProxy> {
    const server = http.createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    return new DriverProxy(server, upstream);
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Every request so far, oldest first. */
  requests(): ProxiedRequest[] {
    return this.seen.map((request) => ({ ...request }));
  }

  async stop(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    await closed;
  }

  private async forward(request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const trip = tripFields(body);
    const record: ProxiedRequest = {
      method: request.method ?? 'GET',
      path: request.url ?? '/',
      idempotencyKey: header(request, 'idempotency-key'),
      bookingId: trip.bookingId,
      type: trip.type,
      bodyHash: createHash('sha256').update(body).digest('hex'),
      upstreamStatus: null,
      answered: false,
    };
    this.seen.push(record);
    let clientGone = false;
    response.on('close', () => {
      if (!response.writableFinished) clientGone = true;
    });
    if (this.down) {
      record.answered = true;
      response.writeHead(503, { 'content-type': 'text/plain' }).end('Driver-App unavailable (drill outage)');
      return;
    }
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(request.headers)) {
      if (typeof value === 'string' && !['host', 'connection', 'content-length', 'transfer-encoding'].includes(name)) headers[name] = value;
    }
    const answer = await fetch(`${this.upstream}${record.path}`, { method: record.method, headers, body: record.method === 'GET' ? undefined : body });
    const text = await answer.text();
    record.upstreamStatus = answer.status;
    if (clientGone || response.destroyed) return;
    record.answered = true;
    response.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'application/json' }).end(text);
  }
}

function header(request: http.IncomingMessage, name: string): string | null {
  const value = request.headers[name];
  return (Array.isArray(value) ? value[0] : value) ?? null;
}

function tripFields(body: Buffer): { bookingId: string | null; type: string | null } {
  try {
    const parsed = JSON.parse(body.toString('utf8')) as { bookingId?: unknown; type?: unknown };
    return {
      bookingId: typeof parsed.bookingId === 'string' ? parsed.bookingId : null,
      type: typeof parsed.type === 'string' ? parsed.type : null,
    };
  } catch {
    return { bookingId: null, type: null };
  }
}
