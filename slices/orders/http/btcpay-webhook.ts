import * as z from 'zod';
import { defineHttp, type HttpFunctionDef } from '../../../shared/function-table';
import { problem } from '../../../shared/http/problem';
import type { InvoiceGateway, InvoiceWebhook } from '../../../shared/platform/invoices';
import { type BtcpayEventDeps, handleBtcpayWebhook } from '../app/handle-btcpay-event';

/**
 * `POST /api/v1/webhooks/btcpay`: `BTCPay-Sig` (`sha256=<hex HMAC>` of the raw body, which BTCPay
 * sends as indented JSON) is checked on the bytes as received; then the invoice is read back from
 * BTCPay and that is applied. Events the hub does not act on are acknowledged (BTCPay stops
 * retrying them); only BTCPay being unreachable is answered 5xx, so BTCPay delivers again.
 */
export function btcpayWebhookFunction(deps: BtcpayEventDeps & { invoices: Pick<InvoiceGateway, 'verifyWebhook' | 'getInvoice'> }): HttpFunctionDef {
  return defineHttp<undefined, Record<string, string>, Record<string, string>, InvoiceWebhook>({
    kind: 'http',
    name: 'webhooks-btcpay',
    route: 'v1/webhooks/btcpay',
    methods: ['POST'],
    summary: 'BTCPay Server webhook (BTCPay-Sig over the raw body); the invoice is re-read before anything changes',
    tags: ['webhooks'],
    verify: (request) => {
      const webhook = deps.invoices.verifyWebhook(request.rawBody, request.headers['btcpay-sig']);
      return webhook
        ? { ok: true, event: webhook }
        : {
            ok: false,
            // A 401 names its challenge (RFC 9110 §15.5.2): the signature scheme this endpoint takes.
            response: problem(401, 'Invalid signature', 'The BTCPay-Sig header does not verify against this body, or the body is not a BTCPay webhook.', {
              headers: { 'WWW-Authenticate': 'BTCPay-Sig realm="btcpay-webhook"' },
            }),
          };
    },
    responses: {
      200: { description: 'Acknowledged', schema: z.object({ received: z.literal(true), outcome: z.string() }) },
      401: { description: 'Missing, forged or tampered signature' },
      500: { description: 'BTCPay could not be asked about the invoice; BTCPay delivers again' },
    },
    handler: async ({ event }) => ({ status: 200, body: { received: true, outcome: await handleBtcpayWebhook(deps, event) } }),
  });
}
