import * as z from 'zod';
import type { FunctionDef, HttpFunctionDef } from '../shared/function-table';
import { defineHttp } from '../shared/function-table';
import { buildOpenApi, type ExtraParameter, type OpenApiOptions } from '../shared/http/openapi';

const BOOKING_TOKEN = 'bookingToken';

const header = (name: string, description: string, schema: Record<string, unknown> = { type: 'string' }, required = true): ExtraParameter => ({
  name,
  in: 'header',
  required,
  description,
  schema,
});

/**
 * What the defs do not declare: who their handlers let in besides `roles` (a booking's access token
 * or a staff key, decided by the bookings use cases), and the headers and query parameters they read
 * without a schema. A renamed def fails the build of the document (`buildOpenApi` checks every name);
 * the contract test (tests/e2e/openapi-contract.test.ts) checks the access against real answers.
 */
export const OPENAPI_OPTIONS: OpenApiOptions = {
  serverUrl: '/api',
  bearerSchemes: {
    [BOOKING_TOKEN]:
      "A booking's access token: `Authorization: Bearer <accessToken>`, as `POST /v1/bookings` answered it (once). It opens that booking only; no token: 401, another booking's: 403.",
  },
  operations: {
    services: {
      parameters: [
        {
          name: 'lang',
          in: 'query',
          required: false,
          description: 'Language of the names; anything else is `de`.',
          schema: { type: 'string', enum: ['de', 'en'], default: 'de' },
        },
      ],
    },
    'bookings-get': { access: { schemes: [BOOKING_TOKEN], roles: ['workshop', 'admin'] } },
    'bookings-history': { access: { schemes: [BOOKING_TOKEN], roles: ['workshop', 'admin'] } },
    'bookings-cancel': { access: { schemes: [BOOKING_TOKEN], roles: ['admin'] } },
    'findings-approve': { access: { schemes: [BOOKING_TOKEN], roles: ['admin'] } },
    'findings-decline': { access: { schemes: [BOOKING_TOKEN], roles: ['admin'] } },
    'orders-transition': {
      parameters: [header('If-Match', 'The order\'s ETag as read (`"<version>"`); a version the order has left answers 412.', { type: 'string' }, false)],
    },
    'webhooks-stripe': {
      parameters: [header('Stripe-Signature', '`t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">` with the endpoint secret; at most 300 s old.')],
    },
    'webhooks-driver-app': {
      parameters: [
        header('X-Webhook-Signature', 'Hex HMAC-SHA256 of the raw body with the shared secret (`DRIVER_APP_SECRET`).'),
        header('X-Webhook-Timestamp', "The sender's clock in unix seconds; within `DRIVER_APP_SIGNATURE_WINDOW_S` of ours.", {
          type: 'string',
          pattern: '^\\d{1,12}$',
        }),
      ],
    },
    'webhooks-btcpay': {
      parameters: [
        header('BTCPay-Sig', "`sha256=<hex HMAC-SHA256 of the raw body>` with the store webhook's secret.", { type: 'string', pattern: '^sha256=' }),
      ],
    },
    'webhooks-woocommerce': {
      parameters: [
        // Not required: the ping WooCommerce sends when a webhook is saved (`webhook_id=<n>`, form-encoded) carries none of them.
        header(
          'X-WC-Webhook-Signature',
          "Base64 HMAC-SHA256 of the raw body with the webhook's secret (`WOOCOMMERCE_WEBHOOK_SECRET`).",
          { type: 'string' },
          false,
        ),
        header('X-WC-Webhook-Topic', '`order.created` or `order.updated` (other topics are acknowledged and ignored).', { type: 'string' }, false),
        header('X-WC-Webhook-Delivery-ID', 'The delivery; recorded with the change it causes, so a redelivery applies once.', { type: 'string' }, false),
      ],
    },
  },
};

/** Functions that exist only while their integration is configured: their notes are left out without them. */
const OPTIONAL_OPERATIONS = new Set(['webhooks-btcpay', 'webhooks-woocommerce']);

/** `GET /api/v1/openapi.json`: generated from the table's zod schemas on first request, then cached. */
export function openApiFunction(table: () => FunctionDef[]): HttpFunctionDef {
  let document: unknown;
  return defineHttp({
    kind: 'http',
    name: 'openapi',
    route: 'v1/openapi.json',
    methods: ['GET'],
    summary: 'This API as an OpenAPI 3.1 document',
    tags: ['ops'],
    responses: {
      200: {
        description: 'OpenAPI 3.1 document',
        schema: z.looseObject({
          openapi: z.string(),
          info: z.looseObject({ title: z.string(), version: z.string() }),
          paths: z.record(z.string(), z.unknown()),
        }),
      },
    },
    handler: async () => {
      if (!document) {
        const defs = table();
        const served = new Set(defs.map((def) => def.name));
        const operations = Object.fromEntries(
          Object.entries(OPENAPI_OPTIONS.operations ?? {}).filter(([name]) => served.has(name) || !OPTIONAL_OPERATIONS.has(name)),
        );
        document = buildOpenApi(defs, { title: 'Order Hub', version: '0.1.0' }, { ...OPENAPI_OPTIONS, operations });
      }
      return { status: 200, body: document };
    },
  });
}
