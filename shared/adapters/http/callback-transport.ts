import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { isPrivateAddress, isPrivateHost } from '../../kernel/network';
import type { CallbackEvent, CallbackTransport, ChannelEndpoint, DeliveryAttempt } from '../../platform/callbacks';

/** How much of an answer the delivery log keeps. */
const RESPONSE_BYTES = 512;

export interface HttpCallbackTransportOptions {
  /** A callback gets this long for an answer (default 15 s). */
  timeoutMs: number;
  /** Plain HTTP and private or loopback addresses allowed (local runs only). */
  allowPrivate: boolean;
  now?: () => Date;
  /** Name resolution (default: the system's); tests resolve names to chosen addresses. */
  resolve?: (hostname: string) => Promise<LookupAddress[]>;
}

const systemResolve = (hostname: string) =>
  new Promise<LookupAddress[]>((resolve, reject) => dnsLookup(hostname, { all: true }, (error, addresses) => (error ? reject(error) : resolve(addresses))));

/** `Retry-After` as milliseconds: seconds, or an HTTP date. */
export function retryAfterMs(header: string | undefined, now: Date): number | undefined {
  if (!header) return undefined;
  if (/^\d+$/.test(header.trim())) return Number(header.trim()) * 1000;
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now.getTime());
}

/**
 * Posts callbacks signed per Standard Webhooks (the `standardwebhooks` package): `webhook-id` is the
 * event id, `webhook-timestamp` this attempt's time, `webhook-signature` one `v1,<base64>` per secret
 * (several while a secret is rotated). Outside local runs only HTTPS, and the address a name resolves
 * to is checked at connect time, so neither a setting nor DNS can point a callback inside the network.
 */
export class HttpCallbackTransport implements CallbackTransport {
  private readonly now: () => Date;

  constructor(private readonly options: HttpCallbackTransportOptions) {
    this.now = options.now ?? (() => new Date());
  }

  async post(endpoint: ChannelEndpoint, event: CallbackEvent, body: string): Promise<DeliveryAttempt> {
    const started = this.now();
    const attempt = (outcome: Omit<DeliveryAttempt, 'at' | 'durationMs'>): DeliveryAttempt => ({
      at: started.toISOString(),
      durationMs: Math.max(0, this.now().getTime() - started.getTime()),
      ...outcome,
    });
    let url: URL;
    try {
      url = new URL(endpoint.url);
    } catch {
      return attempt({ error: 'the callback URL is not a URL' });
    }
    if (!this.options.allowPrivate && (url.protocol !== 'https:' || isPrivateHost(url.hostname))) {
      return attempt({ error: 'callback URLs must be https and public' });
    }
    const signature = endpoint.secrets.map((secret) => new Webhook(secret).sign(event.id, started, body)).join(' ');
    const headers = {
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(body)),
      'user-agent': 'OrderHub-Callbacks/1',
      'webhook-id': event.id,
      'webhook-timestamp': String(Math.floor(started.getTime() / 1000)),
      'webhook-signature': signature,
    };
    return new Promise((resolve) => {
      const client = url.protocol === 'https:' ? https : http;
      const request = client.request(url, { method: 'POST', headers, lookup: this.guardedLookup(), timeout: this.options.timeoutMs }, (response) => {
        const chunks: Buffer[] = [];
        let size = 0;
        response.on('data', (chunk: Buffer) => {
          if (size < RESPONSE_BYTES) chunks.push(chunk);
          size += chunk.length;
        });
        response.on('end', () =>
          resolve(
            attempt({
              statusCode: response.statusCode,
              response: Buffer.concat(chunks).subarray(0, RESPONSE_BYTES).toString('utf8'),
              retryAfterMs: retryAfterMs(response.headers['retry-after'], this.now()),
            }),
          ),
        );
        response.on('error', (error) => resolve(attempt({ statusCode: response.statusCode, error: error.message })));
      });
      request.on('timeout', () => request.destroy(new Error(`no answer within ${this.options.timeoutMs} ms`)));
      request.on('error', (error) => resolve(attempt({ error: error.message })));
      request.end(body);
    });
  }

  /** DNS as usual, refusing private addresses unless allowed (checked on what the socket will connect to). */
  private guardedLookup(): LookupFunction {
    const allowPrivate = this.options.allowPrivate;
    const resolve = this.options.resolve ?? systemResolve;
    return (hostname, options, callback) => {
      resolve(hostname).then(
        (list) => {
          const wanted = options.family ? list.filter((entry) => entry.family === options.family) : list;
          if (wanted.length === 0) return callback(Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' }), '', 0);
          if (!allowPrivate && wanted.some((entry) => isPrivateAddress(entry.address))) {
            return callback(new Error(`${hostname} resolves to a private address; callbacks go to public addresses only`), '', 0);
          }
          if (options.all) return (callback as unknown as (error: null, addresses: LookupAddress[]) => void)(null, wanted);
          const first = wanted[0] as LookupAddress;
          callback(null, first.address, first.family);
        },
        (error: NodeJS.ErrnoException) => callback(error, '', 0),
      );
    };
  }
}
