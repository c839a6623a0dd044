// The alert rules query what the app emits: every event, metric, request and function name and every
// dimension (and its values) in the KQL of infra/modules/alerts.bicep is one the registry in
// shared/platform/telemetry.ts or the function table names; every name the code emits is registered
// and every registered name is emitted. Planted mismatches show each rule failing.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  EXCEPTION_DIMENSIONS,
  TELEMETRY_EVENTS,
  TELEMETRY_METRICS,
  WEBHOOK_PROVIDERS,
  WEBHOOK_ROUTE_PREFIX,
  webhookProvider,
} from '../../shared/platform/telemetry';
import { PAYMENT_PROVIDERS } from '../../slices/orders/domain/order';
import { type RegisteredApp, registerAzureApp } from '../support/azure-app';
import { alertQueries, readInfra } from '../support/bicep';

const root = resolve(__dirname, '../..');

type Dimensions = Readonly<Record<string, readonly string[] | null>>;

/** What the app emits, as the KQL may reference it. */
interface Emitted {
  events: Readonly<Record<string, Dimensions>>;
  metrics: Readonly<Record<string, Dimensions>>;
  exceptionDimensions: Dimensions;
  /** Function-table names (the host's `requests` names, and the `function` dimension). */
  functions: ReadonlySet<string>;
  /** The names the app's own request telemetry uses: `POST /api/v1/webhooks/stripe`. */
  requests: ReadonlySet<string>;
}

/** What the queries referenced (to show the check is not vacuous). */
interface Referenced {
  events: Set<string>;
  metrics: Set<string>;
  functions: Set<string>;
  dimensions: Set<string>;
}

const TABLES = ['customEvents', 'customMetrics', 'exceptions', 'requests'] as const;
type Table = (typeof TABLES)[number];

/** The parts of a query that each read one table: the arms of a top-level `union (…), (…)`, else the whole. */
function segments(query: string): string[] {
  const text = query.trim();
  if (!/^union\b/.test(text)) return [text];
  const parts: string[] = [];
  let depth = 0;
  let start = -1;
  for (let i = 0; i < text.length; i += 1) {
    if (text[i] === '"') i = text.indexOf('"', i + 1);
    else if (text[i] === '(') {
      if (depth === 0) start = i + 1;
      depth += 1;
    } else if (text[i] === ')') {
      depth -= 1;
      if (depth === 0) parts.push(text.slice(start, i));
    }
  }
  return parts;
}

const quoted = (list: string) => [...list.matchAll(/"([^"]*)"/g)].map((match) => match[1] as string);
const DIMENSION = String.raw`customDimensions(?:\.(\w+)|\[\s*["']([^"']+)["']\s*\])`;

/** Every problem of one query against what the app emits; `seen` collects what it referenced. */
function checkQuery(alert: string, query: string, emitted: Emitted, seen: Referenced): string[] {
  const problems: string[] = [];
  for (const segment of segments(query)) {
    const table = /^\s*(\w+)/.exec(segment)?.[1] ?? '';
    if (!(TABLES as readonly string[]).includes(table)) {
      problems.push(`${alert}: reads ${table || 'nothing'}, not one of ${TABLES.join(', ')} (log text is no contract: query a registered event)`);
      continue;
    }
    // Names: exact only. A fuzzy match passes for names nobody emits.
    const fuzzy = /\bname\s*(=~|!?(?:contains|has|startswith|endswith|matches regex|has_any|in~))/g;
    for (const match of segment.matchAll(fuzzy)) problems.push(`${alert}: fuzzy match on name (${match[0]}); name the item exactly`);
    const names = [
      ...[...segment.matchAll(/\bname\s*==\s*"([^"]*)"/g)].map((match) => match[1] as string),
      ...[...segment.matchAll(/\bname\s+in\s*\(([^)]*)\)/g)].flatMap((match) => quoted(match[1] as string)),
    ];
    const known = knownNames(table as Table, emitted);
    for (const name of names) {
      if (!known.has(name)) problems.push(`${alert}: ${table} name "${name}" is not one the app emits`);
    }
    if ((table === 'customEvents' || table === 'customMetrics') && names.length === 0) problems.push(`${alert}: reads every item of ${table}; filter by name`);
    if (table === 'customEvents') for (const name of names) seen.events.add(name);
    if (table === 'customMetrics') for (const name of names) seen.metrics.add(name);
    if (table === 'requests') for (const name of names) if (emitted.functions.has(name)) seen.functions.add(name);

    // Dimensions: carried by the items this segment reads, with their values where they are a closed set.
    const dimensions = dimensionsOf(table as Table, names, emitted);
    for (const match of segment.matchAll(new RegExp(DIMENSION, 'g'))) {
      const dimension = (match[1] ?? match[2]) as string;
      seen.dimensions.add(dimension);
      if (!(dimension in dimensions)) problems.push(`${alert}: ${table} ${names.join(', ') || ''} carries no dimension ${dimension}`.replace('  ', ' '));
    }
    const compared = new RegExp(String.raw`tostring\(\s*${DIMENSION}\s*\)\s*(==|!=|in)\s*(\([^)]*\)|"[^"]*")`, 'g');
    for (const match of segment.matchAll(compared)) {
      const dimension = (match[1] ?? match[2]) as string;
      const values = match[4]?.startsWith('(') ? quoted(match[4]) : [JSON.parse(match[4] as string) as string];
      const allowed = dimension === 'function' ? [...emitted.functions] : dimensions[dimension];
      for (const value of values) {
        if (allowed && !allowed.includes(value)) problems.push(`${alert}: ${dimension} is never "${value}" (it is one of ${allowed.join(', ')})`);
        if (dimension === 'function' && allowed?.includes(value)) seen.functions.add(value);
      }
    }
  }
  return problems;
}

function knownNames(table: Table, emitted: Emitted): ReadonlySet<string> {
  if (table === 'customEvents') return new Set(Object.keys(emitted.events));
  if (table === 'customMetrics') return new Set(Object.keys(emitted.metrics));
  if (table === 'requests') return new Set([...emitted.functions, ...emitted.requests]);
  return new Set();
}

/** The dimensions the named items carry (every event and exception may carry operationId); closed value sets merged. */
function dimensionsOf(table: Table, names: string[], emitted: Emitted): Dimensions {
  if (table === 'exceptions') return emitted.exceptionDimensions;
  if (table === 'requests') return { operationId: null };
  const registry = table === 'customEvents' ? emitted.events : emitted.metrics;
  const merged: Record<string, readonly string[] | null> = table === 'customEvents' ? { operationId: null } : {};
  for (const name of names) {
    for (const [dimension, values] of Object.entries(registry[name] ?? {})) {
      const before = merged[dimension];
      merged[dimension] = before === undefined ? values : before === null || values === null ? null : [...new Set([...before, ...values])];
    }
  }
  return merged;
}

/** Every problem of every log alert in alerts.bicep. */
function checkAlerts(alertsBicep: string, emitted: Emitted, seen: Referenced = newReferenced()): string[] {
  return alertQueries(alertsBicep).flatMap((alert) => checkQuery(alert.name, alert.query, emitted, seen));
}

const newReferenced = (): Referenced => ({ events: new Set(), metrics: new Set(), functions: new Set(), dimensions: new Set() });

// ---- What the code emits.

/** Production TypeScript files (what ships), relative to the repository. */
function productionFiles(): string[] {
  const walk = (dir: string): string[] =>
    readdirSync(dir).flatMap((entry) => {
      const path = join(dir, entry);
      return statSync(path).isDirectory() ? walk(path) : path.endsWith('.ts') ? [path] : [];
    });
  return ['functions', 'shared', 'slices'].flatMap((dir) => walk(join(root, dir)));
}

/** Every `.event('Name'` and `.metric('Name'` call in production code, by file. */
function emittedLiterals(): Array<{ kind: 'event' | 'metric'; name: string; file: string }> {
  return productionFiles().flatMap((file) =>
    [...readFileSync(file, 'utf8').matchAll(/\.(event|metric)\(\s*'([^']+)'/g)].map((match) => ({
      kind: match[1] as 'event' | 'metric',
      name: match[2] as string,
      file: relative(root, file),
    })),
  );
}

let app: RegisteredApp;
let emitted: Emitted;

beforeAll(async () => {
  app = await registerAzureApp();
  emitted = {
    events: TELEMETRY_EVENTS,
    metrics: TELEMETRY_METRICS,
    exceptionDimensions: EXCEPTION_DIMENSIONS,
    functions: new Set(app.functions.map((def) => def.name)),
    requests: new Set(app.functions.flatMap((def) => (def.kind === 'http' ? def.methods.map((method) => `${method} /api/${def.route}`) : []))),
  };
});

describe('the alert queries name what the app emits', () => {
  it('every event, metric, function and dimension they query exists (and they query the ones the alerts are for)', () => {
    const seen = newReferenced();
    const { alerts } = readInfra();
    expect(alertQueries(alerts).map((alert) => alert.name)).toEqual([
      'webhook-failure-rate',
      'odoo-sync-failures',
      'odoo-sync-latency',
      'stripe-payment-failures',
      'btcpay-webhook-server-errors',
      'payments-reconciled',
    ]);
    expect(checkAlerts(alerts, emitted, seen)).toEqual([]);
    expect([...seen.events].sort()).toEqual(['JobDeadLettered', 'PaymentFailed', 'PaymentReconciled', 'WebhookCall']);
    expect([...seen.metrics]).toEqual(['OdooSyncLatencyMs']);
    expect([...seen.functions]).toEqual(['jobs-odoo-sync']);
    expect([...seen.dimensions].sort()).toEqual(['code', 'function', 'jobType', 'milestone', 'outcome', 'provider', 'queue']);
  });

  it('a renamed event, a fuzzy match, an unknown dimension, value, metric or function fails', () => {
    const alerts = readInfra().alerts;
    const planted = (from: string | RegExp, to: string) => {
      const changed = alerts.replace(from, to);
      expect(changed, `the plant ${String(from)} did not change alerts.bicep`).not.toBe(alerts);
      return checkAlerts(changed, emitted);
    };
    expect(planted('name == "PaymentFailed"', 'name == "PaymentFailure"')).toEqual([
      'stripe-payment-failures: customEvents name "PaymentFailure" is not one the app emits',
      'stripe-payment-failures: customEvents PaymentFailure carries no dimension code',
    ]);
    expect(planted('name == "JobDeadLettered"', 'name contains "sync" and name contains "fail"')).toEqual([
      'odoo-sync-failures: fuzzy match on name (name contains); name the item exactly',
      'odoo-sync-failures: fuzzy match on name (name contains); name the item exactly',
      'odoo-sync-failures: reads every item of customEvents; filter by name',
      'odoo-sync-failures: customEvents carries no dimension queue',
    ]);
    expect(planted('name == "OdooSyncLatencyMs"', 'name == "SyncLatencyMs"')).toEqual([
      'odoo-sync-latency: customMetrics name "SyncLatencyMs" is not one the app emits',
      'odoo-sync-latency: customMetrics SyncLatencyMs carries no dimension jobType',
      'odoo-sync-latency: customMetrics SyncLatencyMs carries no dimension milestone',
    ]);
    expect(planted('customDimensions.provider) == "btcpay"', 'customDimensions.provider) == "btc-pay"')).toEqual([
      'btcpay-webhook-server-errors: provider is never "btc-pay" (it is one of stripe, btcpay, driver-app, woocommerce)',
    ]);
    expect(planted('in ("rejected", "failed")', 'in ("rejected", "error")')).toEqual([
      'webhook-failure-rate: outcome is never "error" (it is one of accepted, rejected, failed)',
    ]);
    expect(planted('customDimensions.code', 'customDimensions.declineCode')).toEqual([
      'stripe-payment-failures: customEvents PaymentFailed carries no dimension declineCode',
    ]);
    expect(planted('== "jobs-odoo-sync"', '== "odoo-sync"')).toEqual([
      expect.stringMatching(/^odoo-sync-failures: function is never "odoo-sync" \(it is one of .*jobs-odoo-sync/),
    ]);
    expect(planted('(customEvents\n   | where name == "JobDeadLettered"', '(traces\n   | where message has "dead-lettered"')).toEqual([
      'odoo-sync-failures: reads traces, not one of customEvents, customMetrics, exceptions, requests (log text is no contract: query a registered event)',
    ]);
    expect(planted('customEvents\n| where name == "PaymentReconciled"', 'customEvents\n| where timestamp > ago(1h)')).toEqual([
      'payments-reconciled: reads every item of customEvents; filter by name',
      'payments-reconciled: customEvents carries no dimension provider',
    ]);
  });

  it('requests are named by the function table or by the pipeline', () => {
    const query = 'requests\n| where name in ("webhooks-btcpay", "POST /api/v1/webhooks/btcpay", "webhooks-paypal")';
    expect(checkQuery('q', query, emitted, newReferenced())).toEqual(['q: requests name "webhooks-paypal" is not one the app emits']);
  });
});

describe('the registry and the code agree', () => {
  it('every name the code emits is registered, and every registered name is emitted', () => {
    const literals = emittedLiterals();
    const registered = { event: Object.keys(TELEMETRY_EVENTS), metric: Object.keys(TELEMETRY_METRICS) };
    expect(literals.filter((literal) => !registered[literal.kind].includes(literal.name))).toEqual([]);
    for (const kind of ['event', 'metric'] as const) {
      const names = new Set(literals.filter((literal) => literal.kind === kind).map((literal) => literal.name));
      expect(
        registered[kind].filter((name) => !names.has(name)),
        `registered ${kind}s nobody emits`,
      ).toEqual([]);
    }
  });

  it('every webhook route is a registered provider, and every provider has its webhook', () => {
    const providers = app.http.map((http) => webhookProvider(http.route)).filter((provider) => provider !== undefined);
    expect(app.http.some((http) => http.route.startsWith(WEBHOOK_ROUTE_PREFIX))).toBe(true);
    expect([...providers].sort()).toEqual([...WEBHOOK_PROVIDERS].sort());
  });

  it("PaymentReconciled's providers are the orders slice's payment providers", () => {
    expect(TELEMETRY_EVENTS.PaymentReconciled.provider).toEqual(PAYMENT_PROVIDERS);
  });
});
