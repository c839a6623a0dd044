import { randomBytes } from 'node:crypto';
// Type-only: erased at compile time, so importing this file does not load the SDK (~0.8 s).
import type * as AppInsights from 'applicationinsights';
import type { DependencyTarget, Telemetry } from '../../platform/telemetry';

type Sdk = typeof AppInsights;
type Client = AppInsights.TelemetryClient;
type Properties = Record<string, string>;

/** Property names whose values are credentials or card data, whatever the value looks like. */
const SECRET_KEY = /secret|token|key|password|card|authorization/i;
/**
 * Stripe secret/restricted keys, Stripe webhook secrets, our API keys and booking access tokens; the
 * tail takes base64 and base64url characters, so no part of a token is left behind.
 */
const SECRET_VALUE = /\b(?:sk|rk|whsec|ohk|bat)_[A-Za-z0-9_\-+/=]+/g;
/** Credentials inside connection strings and URLs: `AccountKey=…`, `SharedAccessKey=…`, SAS `sig=…`, `Password=…`. */
const SECRET_SETTING = /\b(AccountKey|SharedAccessKey|SharedAccessSignature|sig|Password|pwd)=[^;&\s"']+/gi;
/** The password in a URL's user info (`smtp://user:password@host`). */
const URL_PASSWORD = /(\/\/[^/:@\s"']*:)[^@/\s"']+@/g;
/** An HTTP credential quoted in text (`Bearer …`, `Authorization: Basic …`, `Authorization: SharedKey account:…`). */
const AUTH_SCHEME = /\b(Bearer|Authorization:\s*(?:Basic|SharedKey(?:Lite)?))\s+[A-Za-z0-9._~+/:=-]+/gi;
/** A card number candidate (PAN): 13–19 digits, optionally grouped; masked only when the Luhn check passes. */
const CARD_NUMBER = /\b\d(?:[ -]?\d){12,18}\b/g;

/** How each target shows up as the dependency type in Application Insights. */
const DEPENDENCY_TYPE: Record<DependencyTarget, string> = {
  stripe: 'HTTP',
  btcpay: 'HTTP',
  odoo: 'XML-RPC',
  driverApp: 'HTTP',
  serviceBus: 'Azure Service Bus',
  tables: 'Azure table',
  smtp: 'SMTP',
  woocommerce: 'HTTP',
};

/**
 * Starts Application Insights and returns the `Telemetry` port on top of its default client.
 * The SDK is imported here, on the first call, so a process without a connection string never pays
 * for it. Statsbeat can only be switched off through the environment
 * (`APPLICATIONINSIGHTS_STATSBEAT_DISABLED=true`): set it in the app settings.
 */
export async function loadAppInsightsTelemetry(connectionString: string): Promise<Telemetry> {
  const ai = await loadSdk();
  if (!ai.defaultClient) {
    ai.setup(connectionString)
      // Our JSON-line logs already reach Application Insights through the Functions host.
      .setAutoCollectConsole(false, false)
      // The pipeline reports requests with the operation id it chose; the host records them too.
      .setAutoCollectRequests(false)
      // Adapters report named dependencies; auto-collected HTTP spans would duplicate them with raw URLs.
      .setAutoCollectDependencies(false)
      .setAutoCollectPerformance(false, false)
      .setAutoCollectExceptions(true)
      .setSendLiveMetrics(false)
      // Keep every trace (the distro rate-limits to 5/s by default): volume is low and a booking must be
      // traceable end to end (custom events are not sampled either way).
      .setAzureMonitorOptions({ tracesPerSecond: 0 })
      .start();
  }
  return appInsightsTelemetry(ai, ai.defaultClient);
}

/** Native `import()` of a CommonJS module gives a namespace whose `default` is the live exports object. */
async function loadSdk(): Promise<Sdk> {
  const loaded = (await import('applicationinsights')) as Sdk & { default?: Sdk };
  return loaded.default ?? loaded;
}

function appInsightsTelemetry(ai: Sdk, client: Client): Telemetry {
  /** Runs `track` inside a W3C trace context whose trace id is the operation id, so the item carries `ai.operation.id`. */
  const within = (operationId: string | undefined, track: () => void) => {
    const traceId = operationId === undefined ? undefined : toTraceId(operationId);
    if (!traceId) return track();
    const spanContext = { traceId, spanId: randomBytes(8).toString('hex'), traceFlags: 1 };
    const context = ai.startOperation(spanContext as Parameters<Sdk['startOperation']>[0]);
    ai.wrapWithCorrelationContext(track, context ?? undefined)();
  };

  return {
    event(name, properties, measurements) {
      const props = scrub(properties);
      within(props.operationId, () => client.trackEvent({ name, properties: props, measurements }));
    },
    request(info) {
      within(info.operationId, () =>
        client.trackRequest({
          name: info.name,
          url: scrubText(info.url),
          resultCode: String(info.status),
          duration: info.durationMs,
          success: info.success,
          // The exporter fills a request's URL and response code only for spans with an HTTP method.
          properties: { operationId: info.operationId, 'http.method': /^[A-Z]+(?= )/.exec(info.name)?.[0] ?? 'HTTP' },
        }),
      );
    },
    dependency(info) {
      within(info.operationId, () =>
        client.trackDependency({
          name: scrubText(info.name),
          duration: info.durationMs,
          success: info.success,
          // The 3.x exporter maps `target` and `type` only for HTTP, database and RPC spans; the database
          // branch is the one that keeps our name and takes the type verbatim, so describe it that way.
          properties: {
            ...(info.operationId ? { operationId: info.operationId } : {}),
            'db.system': DEPENDENCY_TYPE[info.target],
            'peer.service': info.target,
          },
        }),
      );
    },
    metric(name, value, properties) {
      // Metrics are aggregated by their properties: a per-operation id would make every point its own series.
      const { operationId: _perOperation, ...dimensions } = scrub(properties);
      client.trackMetric({ name, value, properties: dimensions });
    },
    exception(error, properties) {
      const props = scrub(properties);
      within(props.operationId, () => client.trackException({ exception: scrubError(error), properties: props }));
    },
    flush: () => client.flush(),
  };
}

/**
 * The W3C trace id for an operation id: the pipeline's ids are either a traceparent's 32 hex digits
 * or a UUID (the same digits with dashes). Anything else stays a plain property.
 */
export function toTraceId(operationId: string): string | undefined {
  const hex = operationId.toLowerCase().replace(/-/g, '');
  return /^[0-9a-f]{32}$/.test(hex) && !/^0+$/.test(hex) ? hex : undefined;
}

/** Drops credential-named properties and masks token- or card-shaped text in the rest. */
export function scrub(properties: Properties | undefined): Properties {
  const clean: Properties = {};
  for (const [key, value] of Object.entries(properties ?? {})) {
    if (!isSecretName(key)) clean[key] = scrubText(value);
  }
  return clean;
}

/** True for a property name whose value is a credential or card data, whatever the value looks like. */
export function isSecretName(name: string): boolean {
  return SECRET_KEY.test(name);
}

/** Masks tokens, connection-string and URL credentials, and card numbers inside free text (error messages, URLs). */
export function scrubText(text: string): string {
  return text
    .replace(SECRET_VALUE, '[redacted]')
    .replace(SECRET_SETTING, '$1=[redacted]')
    .replace(URL_PASSWORD, '$1[redacted]@')
    .replace(AUTH_SCHEME, '$1 [redacted]')
    .replace(CARD_NUMBER, (digits) => (luhn(digits) ? '[redacted]' : digits));
}

/** The card-number checksum: keeps long ids and millisecond timestamps from being masked. */
function luhn(candidate: string): boolean {
  const digits = candidate.replace(/\D/g, '');
  let sum = 0;
  for (let i = 0; i < digits.length; i += 1) {
    let d = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 1) d = d * 2 > 9 ? d * 2 - 9 : d * 2;
    sum += d;
  }
  return sum % 10 === 0;
}

/** A copy of the error whose message and stack are scrubbed: vendor errors often quote the key they rejected. */
function scrubError(error: unknown): Error {
  const source = error instanceof Error ? error : new Error(String(error));
  const copy = new Error(scrubText(source.message));
  copy.name = source.name;
  copy.stack = source.stack === undefined ? undefined : scrubText(source.stack);
  return copy;
}
