import * as z from 'zod';

/** Where the shop is and the REST API key the hub uses (read/write). */
export interface WooCommerceSettings {
  /** The shop's base URL (`WOOCOMMERCE_URL`), e.g. https://shop.example.com. */
  url: string;
  consumerKey: string;
  consumerSecret: string;
  timeoutMs?: number;
}

/** Why a call to the shop failed: a closed set of codes; the vendor's error stays as `cause`. */
export type WooCommerceErrorCode = 'unavailable' | 'unauthorized' | 'not_found' | 'refused';

/** A failed call to the shop's REST API. `status` is the HTTP status when the shop answered. */
export class WooCommerceError extends Error {
  constructor(
    readonly code: WooCommerceErrorCode,
    message: string,
    readonly status?: number,
    readonly retryAfterMs?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'WooCommerceError';
  }

  /** Whether trying again later may work (the shop down, slow or rate limiting). */
  get transient(): boolean {
    return this.code === 'unavailable';
  }
}

// ---- WooCommerce's wire format (REST API v3), read leniently: only what the hub uses.

const shopOrderSchema = z.looseObject({
  id: z.number().int(),
  status: z.string(),
  refunds: z.array(z.looseObject({ id: z.number().int(), reason: z.string().nullish(), total: z.union([z.string(), z.number()]).optional() })).default([]),
});
export type ShopOrderState = z.infer<typeof shopOrderSchema>;

const noteSchema = z.looseObject({ id: z.number().int(), note: z.string() });
export type ShopNote = z.infer<typeof noteSchema>;

/** WooCommerce's (WordPress's) error body: `{code, message, data: {status}}`. */
const errorSchema = z.looseObject({ code: z.string(), message: z.string() });

const retryAfter = (header: string | null): number | undefined => (header && /^\d+$/.test(header.trim()) ? Number(header.trim()) * 1000 : undefined);

/**
 * The WooCommerce REST API v3 calls the hub makes (`/wp-json/wc/v3/orders…`): read an order, set its
 * status, list and add order notes, record a refund. HTTP basic auth with the consumer key and
 * secret (WooCommerce takes it over HTTPS); every answer is parsed before it is used.
 */
export class WooCommerceClient {
  private readonly base: string;
  private readonly authorization: string;

  constructor(private readonly settings: WooCommerceSettings) {
    this.base = `${settings.url.replace(/\/+$/, '')}/wp-json/wc/v3`;
    this.authorization = `Basic ${Buffer.from(`${settings.consumerKey}:${settings.consumerSecret}`).toString('base64')}`;
  }

  getOrder(id: string): Promise<ShopOrderState> {
    return this.call('GET', `/orders/${encodeURIComponent(id)}`, undefined, shopOrderSchema);
  }

  setStatus(id: string, status: string): Promise<ShopOrderState> {
    return this.call('PUT', `/orders/${encodeURIComponent(id)}`, { status }, shopOrderSchema);
  }

  listNotes(id: string): Promise<ShopNote[]> {
    return this.call('GET', `/orders/${encodeURIComponent(id)}/notes`, undefined, z.array(noteSchema));
  }

  /** A private note (the shop's staff see it; the customer is not mailed). */
  addNote(id: string, note: string): Promise<ShopNote> {
    return this.call('POST', `/orders/${encodeURIComponent(id)}/notes`, { note, customer_note: false }, noteSchema);
  }

  /** Records money that went back outside WooCommerce (`api_refund: false`: WooCommerce asks no gateway). */
  createRefund(id: string, refund: { amount: string; reason: string }): Promise<{ id: number }> {
    return this.call('POST', `/orders/${encodeURIComponent(id)}/refunds`, { ...refund, api_refund: false }, z.looseObject({ id: z.number().int() }));
  }

  private async call<T>(method: string, path: string, body: unknown, schema: z.ZodType<T>): Promise<T> {
    const what = `${method} ${path.replace(/\?.*$/, '')}`;
    let response: Response;
    try {
      response = await fetch(`${this.base}${path}`, {
        method,
        headers: {
          authorization: this.authorization,
          accept: 'application/json',
          'user-agent': 'OrderHub-WooCommerce/1',
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        redirect: 'error',
        signal: AbortSignal.timeout(this.settings.timeoutMs ?? 15_000),
      });
    } catch (error) {
      throw new WooCommerceError(
        'unavailable',
        `${what}: the shop did not answer (${error instanceof Error ? error.message : String(error)})`,
        undefined,
        undefined,
        {
          cause: error,
        },
      );
    }
    const text = await response.text().catch(() => '');
    if (!response.ok) {
      let detail = text.slice(0, 200);
      try {
        const parsed = errorSchema.safeParse(JSON.parse(text));
        if (parsed.success) detail = `${parsed.data.code}: ${parsed.data.message}`;
      } catch {
        // not JSON (a proxy's page): the first bytes say enough
      }
      const status = response.status;
      const code: WooCommerceErrorCode =
        status === 401 || status === 403
          ? 'unauthorized'
          : status === 404
            ? 'not_found'
            : status === 408 || status === 429 || status >= 500
              ? 'unavailable'
              : 'refused';
      throw new WooCommerceError(code, `${what} answered ${status} (${detail})`, status, retryAfter(response.headers.get('retry-after')), { cause: text });
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (error) {
      throw new WooCommerceError('unavailable', `${what}: the answer is not JSON`, response.status, undefined, { cause: error });
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success)
      throw new WooCommerceError('refused', `${what}: the answer is not what WooCommerce sends`, response.status, undefined, { cause: parsed.error });
    return parsed.data;
  }
}
