import * as z from 'zod';
import { defineHttp, type HttpFunctionDef, type HttpRequestData, type Verification } from '../../../shared/function-table';
import { badRequest, problem } from '../../../shared/http/problem';
import { parseSignedJson } from '../../../shared/http/webhook';
import { verifyBase64HmacSha256 } from '../../../shared/kernel/hmac';
import { receiveShopOrder, SHOP_TOPICS, type ShopDelivery, type ShopOrderDeps, type ShopTopic, shopOrderSchema } from '../app/woocommerce-orders';

/** What a verified request to the WooCommerce endpoint is. */
type ShopWebhook = { kind: 'ping' } | { kind: 'other'; topic: string } | ({ kind: 'order' } & ShopDelivery);

/** The body WooCommerce posts (unsigned, no topic) when a webhook is saved, to see the URL answers. */
const PING = /^webhook_id=\d+$/;

const unsigned = () =>
  problem(401, 'Invalid signature', 'The X-WC-Webhook-Signature header does not verify against this body with the webhook secret.', {
    // A 401 names its challenge (RFC 9110 §15.5.2): the signature scheme this endpoint takes.
    headers: { 'WWW-Authenticate': 'X-WC-Webhook-Signature realm="woocommerce-webhook"' },
  });

/** Checks the signature (base64 HMAC-SHA256 of the raw body) and reads the delivery; the ping passes unsigned. */
export function verifyShopWebhook(request: HttpRequestData, secret: string): Verification<ShopWebhook> {
  const signature = request.headers['x-wc-webhook-signature'];
  const topic = request.headers['x-wc-webhook-topic'];
  const body = request.rawBody.toString('latin1').trim();
  // The ping carries nothing to act on, so it needs no signature (WooCommerce sends it unsigned).
  if (topic === undefined && PING.test(body)) return { ok: true, event: { kind: 'ping' } };
  if (!verifyBase64HmacSha256(request.rawBody, signature, secret)) return { ok: false, response: unsigned() };
  if (!topic || !(SHOP_TOPICS as readonly string[]).includes(topic)) return { ok: true, event: { kind: 'other', topic: topic ?? '' } };
  const deliveryId = request.headers['x-wc-webhook-delivery-id']?.trim();
  if (!deliveryId || !/^[A-Za-z0-9._:-]{1,100}$/.test(deliveryId))
    return { ok: false, response: badRequest('The X-WC-Webhook-Delivery-ID header is missing or malformed.') };
  const parsed = parseSignedJson(request.rawBody, shopOrderSchema);
  if (!parsed.ok) return parsed;
  return { ok: true, event: { kind: 'order', topic: topic as ShopTopic, deliveryId, order: parsed.event } };
}

const acknowledged = z.object({
  received: z.literal(true),
  outcome: z.enum(['ping', 'created', 'duplicate', 'cancelled', 'ignored']),
  orderId: z.string().optional(),
  reason: z.string().optional(),
});

/**
 * `POST /api/v1/webhooks/woocommerce`: the shop's `order.created` and `order.updated` webhooks,
 * signed with `X-WC-Webhook-Signature` over the raw body. A shop order paid through the hub becomes
 * a hub order; everything else the hub does not act on is acknowledged, so WooCommerce does not
 * count it as a failed delivery. A shop order the hub cannot take is a 422 naming its fields.
 */
export function woocommerceWebhookFunction(deps: ShopOrderDeps & { webhookSecret: string }): HttpFunctionDef {
  return defineHttp<undefined, Record<string, string>, Record<string, string>, ShopWebhook>({
    kind: 'http',
    name: 'webhooks-woocommerce',
    route: 'v1/webhooks/woocommerce',
    methods: ['POST'],
    summary: 'WooCommerce webhook (X-WC-Webhook-Signature over the raw body): order.created and order.updated; the ping is answered',
    tags: ['webhooks'],
    verify: (request) => verifyShopWebhook(request, deps.webhookSecret),
    responses: {
      200: { description: 'Acknowledged: the ping, an order created or already known, a cancellation, or nothing to do', schema: acknowledged },
      400: { description: 'Not JSON, or no X-WC-Webhook-Delivery-ID' },
      401: { description: 'Missing, forged or tampered signature' },
      422: { description: 'A shop order the hub cannot take as sent (errors name its fields)' },
    },
    handler: async ({ event }) => {
      if (event.kind === 'ping') return { status: 200, body: { received: true, outcome: 'ping' } };
      if (event.kind === 'other')
        return { status: 200, body: { received: true, outcome: 'ignored', reason: `topic ${event.topic || 'none'} is not one the hub takes` } };
      const result = await receiveShopOrder(deps, event);
      if (result.outcome === 'invalid') {
        return problem(422, 'Invalid shop order', 'The shop order cannot become a hub order as sent; see errors.', {
          errors: result.problems.map((issue) => ({ in: 'body' as const, path: issue.path, message: issue.message })),
        });
      }
      return { status: 200, body: { received: true, ...result } };
    },
  });
}
