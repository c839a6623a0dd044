import type { FunctionDef, HttpFunctionDef, HttpRequestData, HttpResponseData, Verification } from '../function-table';
import { DEAD_LETTER_REASONS } from './consume-job';
import { QUEUE_NAMES } from './queues';

// ---- The registry: every custom event and metric the app tracks, with its dimensions.
// The port takes only these names, and the alert rules in infra/modules/alerts.bicep query only these
// names and dimensions (tests/unit/telemetry-names.test.ts reads the KQL and checks it against this).

/** A dimension whose values are open (ids, codes, numbers as text); otherwise the list of its values. */
const OPEN = null;
type Dimensions = Readonly<Record<string, readonly string[] | null>>;

/** Who calls the webhooks; the last segment of their route (`v1/webhooks/<provider>`). */
export const WEBHOOK_PROVIDERS = ['stripe', 'btcpay', 'driver-app', 'woocommerce'] as const;
/** How a webhook call ended: answered 2xx, refused 4xx (e.g. a bad signature), or failed 5xx / threw. */
export const WEBHOOK_OUTCOMES = ['accepted', 'rejected', 'failed'] as const;
export type WebhookOutcome = (typeof WEBHOOK_OUTCOMES)[number];
/** What an ERP sync run put on the books: the moment `OdooSyncLatencyMs` measures to. */
export const SYNC_MILESTONES = ['invoice_posted', 'payment_registered', 'credit_note_posted', 'refund_registered'] as const;
export type SyncMilestone = (typeof SYNC_MILESTONES)[number];

/**
 * Custom events (`customEvents`, dimensions in `customDimensions`). Every event may also carry
 * `operationId`. `JobFailed` and `JobDeadLettered` carry the measurement `attempt`.
 */
export const TELEMETRY_EVENTS = {
  /** A booking's payment succeeded (Stripe webhook). */
  BookingConfirmed: { bookingId: OPEN, stripeEvent: OPEN },
  /** A Stripe payment failed: a booking's (bookingId) or an order payment's (orderId, paymentId). */
  PaymentFailed: { bookingId: OPEN, orderId: OPEN, paymentId: OPEN, code: OPEN },
  /** The payments-reconcile timer moved a payment whose webhook never came. */
  PaymentReconciled: { orderId: OPEN, paymentId: OPEN, provider: ['stripe', 'btcpay'] },
  /** A booking or an order went on the attention list (`GET /api/v1/admin/attention`). */
  AttentionRaised: { kind: ['booking', 'order'], subject: OPEN, reason: OPEN },
  /** A BTCPay invoice with our ids but another amount: left alone. */
  BTCPayInvoiceMismatch: { orderId: OPEN, paymentId: OPEN, invoiceId: OPEN },
  /** A job's attempt failed (retried or dead-lettered); on `odoo-sync` this is "sync failed". */
  JobFailed: { queue: QUEUE_NAMES, type: OPEN, subject: OPEN, code: OPEN, kind: ['transient', 'permanent'] },
  /** A job was dead-lettered after its handler failed for good. */
  JobDeadLettered: {
    queue: QUEUE_NAMES,
    type: OPEN,
    subject: OPEN,
    code: OPEN,
    kind: ['transient', 'permanent'],
    reason: [DEAD_LETTER_REASONS.permanent, DEAD_LETTER_REASONS.exhausted],
  },
  /** One call of a webhook (Stripe, BTCPay, Driver-App): the webhook failure rate is counted on these. */
  WebhookCall: { provider: WEBHOOK_PROVIDERS, outcome: WEBHOOK_OUTCOMES, status: OPEN, function: OPEN, result: OPEN },
} as const satisfies Record<string, Dimensions>;

/**
 * Custom metrics (`customMetrics`: one row per series and export interval with `value` = sum,
 * `valueCount`, `valueMin`, `valueMax`; dimensions in `customDimensions`).
 */
export const TELEMETRY_METRICS = {
  /**
   * From the change that queued an ERP sync (the job's `createdAt`, kept across retries and replays) to
   * the run that posted the invoice, registered the payment, posted the credit note or paid out the refund.
   */
  OdooSyncLatencyMs: { jobType: OPEN, milestone: SYNC_MILESTONES, attempt: OPEN },
} as const satisfies Record<string, Dimensions>;

/**
 * Dimensions of exceptions (`exceptions`): `function` (the function-table name) on every failed
 * invocation; a failed job attempt carries its job's dimensions instead (see `JobFailed`).
 */
export const EXCEPTION_DIMENSIONS = {
  function: OPEN,
  operationId: OPEN,
  messageId: OPEN,
  reason: Object.values(DEAD_LETTER_REASONS),
  queue: QUEUE_NAMES,
  type: OPEN,
  subject: OPEN,
  code: OPEN,
  kind: ['transient', 'permanent'],
} as const satisfies Dimensions;

/** The name of a custom event the app tracks. */
export type TelemetryEventName = keyof typeof TELEMETRY_EVENTS;
/** The name of a custom metric the app tracks. */
export type TelemetryMetricName = keyof typeof TELEMETRY_METRICS;

/** The external systems whose calls are timed as dependencies. */
export type DependencyTarget = 'stripe' | 'btcpay' | 'odoo' | 'driverApp' | 'serviceBus' | 'tables' | 'smtp' | 'woocommerce';

/** One finished HTTP request, as the pipeline saw it. */
export interface RequestInfo {
  name: string;
  url: string;
  status: number;
  durationMs: number;
  operationId: string;
  success: boolean;
}

/** One finished call to an external system. */
export interface DependencyInfo {
  target: DependencyTarget;
  /** The operation, e.g. `paymentIntents.create` or `account.move/create`: never a URL with credentials. */
  name: string;
  durationMs: number;
  success: boolean;
  operationId?: string;
}

/**
 * Where requests, dependencies, events and metrics go (Application Insights in Azure).
 * A property named `operationId` on an event or exception becomes that item's operation id, so one id
 * follows a booking from the HTTP request through every queue hop. Metric properties are dimensions:
 * keep them low-cardinality (an `operationId` there is dropped).
 * Implementations drop secrets and card data; callers still should not pass them.
 */
export interface Telemetry {
  event(name: TelemetryEventName, properties?: Record<string, string>, measurements?: Record<string, number>): void;
  request(info: RequestInfo): void;
  dependency(info: DependencyInfo): void;
  metric(name: TelemetryMetricName, value: number, properties?: Record<string, string>): void;
  exception(error: unknown, properties?: Record<string, string>): void;
  /** Sends what is buffered; call before a short-lived process exits. */
  flush(): Promise<void>;
}

/** Telemetry switched off (no connection string configured): every call is a no-op. */
export const noTelemetry: Telemetry = {
  event: () => {},
  request: () => {},
  dependency: () => {},
  metric: () => {},
  exception: () => {},
  flush: async () => {},
};

/**
 * Telemetry whose target is set later: Application Insights takes ~0.8 s to import, so the
 * composition starts with nothing and switches once start-up has loaded it.
 */
export class SwitchableTelemetry implements Telemetry {
  private target: Telemetry = noTelemetry;

  use(target: Telemetry): void {
    this.target = target;
  }

  event(name: TelemetryEventName, properties?: Record<string, string>, measurements?: Record<string, number>): void {
    this.target.event(name, properties, measurements);
  }

  request(info: RequestInfo): void {
    this.target.request(info);
  }

  dependency(info: DependencyInfo): void {
    this.target.dependency(info);
  }

  metric(name: TelemetryMetricName, value: number, properties?: Record<string, string>): void {
    this.target.metric(name, value, properties);
  }

  exception(error: unknown, properties?: Record<string, string>): void {
    this.target.exception(error, properties);
  }

  flush(): Promise<void> {
    return this.target.flush();
  }
}

/**
 * The port with every asynchronous call reported as a dependency of `target` (name = the method,
 * duration, success); synchronous methods (e.g. a signature check) do no I/O and pass through.
 * Wrapping at the port keeps adapters free of telemetry and covers every call.
 */
export function timedPort<T extends object>(port: T, target: DependencyTarget, telemetry: Pick<Telemetry, 'dependency'>): T {
  return new Proxy(port, {
    get(object, property, receiver) {
      const member = Reflect.get(object, property, receiver) as unknown;
      if (typeof member !== 'function' || typeof property !== 'string') return member;
      return (...args: unknown[]) => {
        const started = Date.now();
        const report = (success: boolean) => telemetry.dependency({ target, name: property, durationMs: Date.now() - started, success });
        const result = (member as (...a: unknown[]) => unknown).apply(object, args);
        if (!(result instanceof Promise)) return result;
        return result.then(
          (value: unknown) => {
            // Payment results carry expected failures as values: those count as failed calls.
            report(!(typeof value === 'object' && value !== null && 'ok' in value && (value as { ok: unknown }).ok === false));
            return value;
          },
          (error: unknown) => {
            report(false);
            throw error;
          },
        );
      };
    },
  });
}

/** Routes under this prefix are webhooks; the segment after it names the provider (`v1/webhooks/btcpay`). */
export const WEBHOOK_ROUTE_PREFIX = 'v1/webhooks/';

/** The provider of a webhook route, or undefined for a route that is not a webhook. */
export function webhookProvider(route: string): string | undefined {
  return route.startsWith(WEBHOOK_ROUTE_PREFIX) ? route.slice(WEBHOOK_ROUTE_PREFIX.length) : undefined;
}

const outcomeOf = (status: number): WebhookOutcome => (status >= 500 ? 'failed' : status >= 400 ? 'rejected' : 'accepted');

/** The word a webhook handler answered with (`{outcome: "applied"}`), when it is one: a low-cardinality dimension. */
function resultOf(response: HttpResponseData): Record<string, string> {
  const outcome = (response.body as { outcome?: unknown } | undefined)?.outcome;
  return typeof outcome === 'string' && /^[a-z_-]{1,40}$/.test(outcome) ? { result: outcome } : {};
}

/**
 * The function table with its invocations reported (both hosts serve what this returns):
 * - an HTTP function that throws anywhere is reported as an exception by the pipeline, which answers
 *   it with a 500 (`createHttpPipeline`);
 * - a timer that throws is an exception (`function`); the host still sees the failure;
 * - every call of a webhook (`v1/webhooks/<provider>`) is a `WebhookCall` event with its provider,
 *   outcome and status, including the calls its verification refuses.
 * Queue functions report their own failures (`invokeQueueFunction`, the job consumer).
 */
export function withInvocationTelemetry(functions: readonly FunctionDef[], telemetry: Pick<Telemetry, 'event' | 'exception'>): FunctionDef[] {
  return functions.map((def) => {
    if (def.kind === 'http') return observeHttp(def, telemetry);
    if (def.kind === 'timer') {
      return {
        ...def,
        handler: async () => {
          try {
            await def.handler();
          } catch (error) {
            telemetry.exception(error, { function: def.name });
            throw error;
          }
        },
      };
    }
    return def;
  });
}

function observeHttp(def: HttpFunctionDef, telemetry: Pick<Telemetry, 'event' | 'exception'>): HttpFunctionDef {
  const provider = webhookProvider(def.route);
  const track = (status: number, properties: Record<string, string>) => {
    if (provider) telemetry.event('WebhookCall', { provider, outcome: outcomeOf(status), status: String(status), function: def.name, ...properties });
  };
  // The pipeline reports the exception itself (it answers 500 for it): here it is a failed call.
  const failed = (properties: Record<string, string>) => track(500, properties);
  const verify = def.verify;
  return {
    ...def,
    ...(verify
      ? {
          verify: async (request: HttpRequestData): Promise<Verification<unknown>> => {
            let verified: Verification<unknown>;
            try {
              verified = await verify(request);
            } catch (error) {
              failed({});
              throw error;
            }
            // A refused call (bad signature, not JSON) never reaches the handler: it is counted here.
            if (!verified.ok) track(verified.response.status, {});
            return verified;
          },
        }
      : {}),
    handler: async (call) => {
      let response: HttpResponseData;
      try {
        response = await def.handler(call);
      } catch (error) {
        failed({ operationId: call.operationId });
        throw error;
      }
      track(response.status, { operationId: call.operationId, ...resultOf(response) });
      return response;
    },
  };
}
