import './zod-setup';
import type { ServiceBusClient } from '@azure/service-bus';
import { SmtpMailer } from '../shared/adapters/email/smtp-mailer';
import { odooCredentialProbe } from '../shared/adapters/odoo/credential-probe';
import { ODOO_API_NAMES, odooTransport } from '../shared/adapters/odoo/odoo-connection';
import { OdooErp } from '../shared/adapters/odoo/odoo-erp';
import { createServiceBusClient, isLocalServiceBus } from '../shared/adapters/service-bus/client';
import { ServiceBusDeadLetterQueues } from '../shared/adapters/service-bus/dead-letters';
import { ServiceBusJobSender } from '../shared/adapters/service-bus/sender';
import { btcpayCredentialProbe } from '../shared/adapters/btcpay/credential-probe';
import { GreenfieldClient } from '../shared/adapters/btcpay/greenfield';
import { CorsOrigins } from '../shared/http/cors';
import { stripeCredentialProbe } from '../shared/adapters/stripe/credential-probe';
import { StripeGateway, UnconfiguredPaymentGateway } from '../shared/adapters/stripe/stripe-gateway';
import { type AggregateCodec, TableAggregateStore } from '../shared/adapters/table-storage/aggregate-store';
import { HttpCallbackTransport } from '../shared/adapters/http/callback-transport';
import { DEAD_LETTER_AUDIT_TABLE, TableDeadLetterAudit } from '../shared/adapters/table-storage/audit';
import { REPLAY_RUNS_TABLE, TableReplayRuns } from '../shared/adapters/table-storage/replay-runs';
import { CALLBACK_DELIVERIES_TABLE, TableDeliveryLog } from '../shared/adapters/table-storage/callback-log';
import { IDEMPOTENCY_TABLE, TableIdempotencyStore } from '../shared/adapters/table-storage/idempotency';
import { INTEGRATION_STATE_TABLE, type Integration, TableIntegrationState } from '../shared/adapters/table-storage/integration-state';
import { OutboxCommitter, TableOutboxStore } from '../shared/adapters/table-storage/outbox';
import { PROCESSED_JOBS_TABLE, TableProcessedJobs } from '../shared/adapters/table-storage/processed-jobs';
import { RATE_LIMITS_TABLE, TableRateBudgetStore } from '../shared/adapters/table-storage/rate-limit-store';
import { TableStore } from '../shared/adapters/table-storage/tables';
import { loadAppInsightsTelemetry } from '../shared/adapters/telemetry/app-insights';
import { consoleLogger } from '../shared/adapters/telemetry/log';
import type { FunctionDef } from '../shared/function-table';
import { ApiKeyAuthenticator } from '../shared/http/auth';
import { createHttpPipeline } from '../shared/http/pipeline';
import { rateLimiterFactory } from '../shared/http/rate-limit';
import type { AggregateState } from '../shared/platform/aggregate';
import { CALLBACK_JOB, CallbackAdmin, callbackHandlers } from '../shared/platform/callbacks';
import { systemClock } from '../shared/platform/clock';
import { AttentionList } from '../shared/platform/attention';
import { DeadLetterAdmin } from '../shared/platform/dead-letters';
import { cachedCredentialCheck } from '../shared/platform/health';
import { afterEach, type JobHandlers, mergeJobHandlers } from '../shared/platform/job-handlers';
import { type JobSender, toOutgoing } from '../shared/platform/jobs';
import type { Logger } from '../shared/platform/log';
import { OutboxRelay } from '../shared/platform/outbox';
import { QUEUE_NAMES, QUEUES } from '../shared/platform/queues';
import { SwitchableTelemetry, timedPort, withInvocationTelemetry } from '../shared/platform/telemetry';
import { lazy } from '../shared/kernel/lazy';
import type { Slice } from '../shared/slice';
import { bookingsSlice } from '../slices/bookings/slice';
import { ordersSlice } from '../slices/orders/slice';
import { callbackAdminFunctions } from './admin-callbacks';
import { deadLetterFunctions } from './admin-dead-letters';
import { deadLetterReplaysFunction } from './dead-letter-replays';
import { attentionFunctions } from './admin-attention';
import { whoamiFunction } from './admin-whoami';
import { consoleFunctions } from './console';
import type { Config } from './config';
import { healthFunctions } from './health';
import { idempotencySweepFunction } from './idempotency-sweep';
import { jobFunctions } from './jobs';
import { openApiFunction } from './openapi';
import { outboxRelayFunction } from './outbox-relay';
import { rateLimitSweepFunction } from './rate-limit-sweep';
import { stripeWebhookFunction } from './stripe-webhook';

/** Tables the platform itself needs, besides the slices' aggregate tables. */
export const PLATFORM_TABLES = [
  PROCESSED_JOBS_TABLE,
  DEAD_LETTER_AUDIT_TABLE,
  REPLAY_RUNS_TABLE,
  INTEGRATION_STATE_TABLE,
  IDEMPOTENCY_TABLE,
  CALLBACK_DELIVERIES_TABLE,
] as const;

/** Every slice the app serves. */
export const SLICES = [bookingsSlice, ordersSlice] as const;

/** Tables that hold aggregates and their outbox rows (swept by the outbox relay timer). */
export const AGGREGATE_TABLES: readonly string[] = SLICES.flatMap((slice) => slice.aggregateTables);

/** The slices' other tables (look-ups). */
const SLICE_TABLES: readonly string[] = SLICES.flatMap((slice) => slice.otherTables ?? []);

export interface CompositionOptions {
  /** Extra job handlers by queue and type (tests add their own); a type handled twice refuses to start. */
  jobHandlers?: JobHandlers;
  /** `false` serves no queue function at all: jobs stay in their queues (benchmarks of the HTTP side). */
  queueConsumers?: boolean;
  /** Extra aggregate tables (tests use their own). */
  aggregateTables?: readonly string[];
  /** Wraps the Service Bus sender (tests inject send faults here). */
  wrapSender?: (sender: JobSender) => JobSender;
  log?: Logger;
}

/** Everything the hosts need: the function table, the HTTP pipeline and the built services. */
export interface Composition {
  functions: FunctionDef[];
  pipeline: ReturnType<typeof createHttpPipeline>;
  services: {
    serviceBus: ServiceBusClient;
    tables: TableStore;
    sender: JobSender;
    outboxRelay: OutboxRelay;
    deadLetters: DeadLetterAdmin;
    log: Logger;
    telemetry: SwitchableTelemetry;
  };
  /** Creates the tables (start-up). */
  init(): Promise<void>;
  close(): Promise<void>;
}

const isLocalTables = (tables: Config['tables']) => /devstoreaccount1|UseDevelopmentStorage=true/i.test(tables.connectionString ?? tables.tableServiceUri);

/** The one place that turns configuration into adapters, slices and the function table. */
export function compose(config: Config, options: CompositionOptions = {}): Composition {
  const log = options.log ?? consoleLogger();
  const clock = systemClock;
  const telemetry = new SwitchableTelemetry();
  // Every call through a port is reported as a dependency of the system behind it.
  const timed = <T extends object>(port: T, target: Parameters<typeof timedPort>[1]) => timedPort(port, target, telemetry);

  // ---- The platform: queues, tables, outbox, dead letters, integrations.
  // A connection string, or the namespace with the app's identity (SERVICEBUS_CONNECTION__*). Made
  // (and the SDK loaded) on first use: an HTTP path that sends no job never pays for the AMQP stack.
  const serviceBusClient = lazy(() => createServiceBusClient(config.serviceBus));
  const serviceBus = serviceBusClient.value;
  const serviceBusSender = new ServiceBusJobSender(serviceBus);
  const timedSender = timed<JobSender>(serviceBusSender, 'serviceBus');
  const sender = options.wrapSender ? options.wrapSender(timedSender) : timedSender;
  const tables = new TableStore(config.tables);
  const aggregateTables = [...AGGREGATE_TABLES, ...(options.aggregateTables ?? [])];
  const outboxRelay = new OutboxRelay(new TableOutboxStore(aggregateTables.map((name) => tables.client(name))), sender, log);
  const committer = new OutboxCommitter(outboxRelay);
  const aggregateStore = <T extends AggregateState>(table: string, codec: AggregateCodec<T>) => {
    if (!aggregateTables.includes(table)) throw new Error(`table ${table} is not declared as an aggregate table of a slice`);
    return timed(new TableAggregateStore(tables.client(table), committer, codec), 'tables');
  };
  const deadLetters = new DeadLetterAdmin({
    queues: QUEUE_NAMES,
    deadLetters: new ServiceBusDeadLetterQueues(serviceBus),
    sender,
    audit: new TableDeadLetterAudit(tables.client(DEAD_LETTER_AUDIT_TABLE)),
    runs: new TableReplayRuns(tables.client(REPLAY_RUNS_TABLE)),
  });
  const integrationState = new TableIntegrationState(tables.client(INTEGRATION_STATE_TABLE));
  const idempotency = timed(new TableIdempotencyStore(tables.client(IDEMPOTENCY_TABLE), { lockMs: config.idempotency.lockMs, log }), 'tables');
  // Rate limits leased from one Table Storage window per key, so all instances together keep each limit.
  const rateBudgets = config.rateLimit.store === 'table' ? timed(new TableRateBudgetStore(tables.client(RATE_LIMITS_TABLE)), 'tables') : undefined;
  const rateLimiter = rateLimiterFactory({ windowMs: config.rateLimit.windowMs, store: rateBudgets, log });
  /** Health's `lastSync`; a failure to record it must not fail (and so repeat) the sync itself. */
  const recordSync = (integration: Integration) => (at: Date) =>
    integrationState.recordSync(integration, at).catch((error: unknown) => log.warn('could not record the sync time', { integration, error }));
  const payments = timed(config.stripe ? new StripeGateway(config.stripe) : new UnconfiguredPaymentGateway(), 'stripe');
  const smtpMailer = config.mail ? new SmtpMailer({ url: config.mail.smtpUrl, from: config.mail.from }) : undefined;
  const invoices = config.btcpay ? timed(new GreenfieldClient(config.btcpay), 'btcpay') : undefined;
  const odoo = config.odoo;
  const erp = odoo ? timed(new OdooErp(odooTransport(odoo), { paymentJournalId: odoo.paymentJournalId, lineTaxIds: odoo.lineTaxIds }), 'odoo') : undefined;

  // ---- The slices.
  const slices: Slice[] = [
    bookingsSlice.build({
      config,
      clock,
      log,
      telemetry,
      payments,
      erp,
      mailer: smtpMailer ? timed(smtpMailer, 'smtp') : undefined,
      aggregateStore,
      timed,
      recordSync,
      rateLimiter,
    }),
    ordersSlice.build({ config, clock, log, telemetry, payments, stripeConfigured: Boolean(config.stripe), invoices, erp, tables, aggregateStore, timed }),
  ];
  // Channel callbacks: posted signed, every attempt logged, retried on the Standard Webhooks schedule.
  const deliveryLog = timed(new TableDeliveryLog(tables.client(CALLBACK_DELIVERIES_TABLE)), 'tables');
  const callbackPolicy = {
    maxAttempts: config.callbacks.schedule.length + 1,
    baseMs: config.jobs.retryBaseMs,
    capMs: config.jobs.retryCapMs,
    schedule: config.callbacks.schedule,
  };
  // A channel with an API of its own (a WooCommerce shop) is told through that instead of signed events.
  const channelTransports = Object.assign({}, ...slices.map((slice) => slice.channelTransports ?? {})) as NonNullable<Slice['channelTransports']>;
  const callbacks = {
    [QUEUES.callbacks]: callbackHandlers({
      endpoints: (channel) =>
        Object.hasOwn(channelTransports, channel)
          ? channelTransports[channel]?.endpoint
          : Object.hasOwn(config.channelCallbacks, channel)
            ? config.channelCallbacks[channel]
            : undefined,
      transport: new HttpCallbackTransport({ timeoutMs: config.callbacks.timeoutMs, allowPrivate: config.callbacks.allowPrivate }),
      transports: Object.fromEntries(Object.entries(channelTransports).map(([channel, { transport }]) => [channel, transport])),
      log: deliveryLog,
      maxAttempts: callbackPolicy.maxAttempts,
      logger: log,
    }),
  };
  const callbackAdmin = new CallbackAdmin({
    log: deliveryLog,
    send: (requests) => sender.send(toOutgoing(requests, { now: clock.now(), newId: clock.newId })),
    newId: clock.newId,
  });
  const merged = mergeJobHandlers(
    ...slices.map((slice) => slice.jobHandlers),
    Object.keys(config.channelCallbacks).length + Object.keys(channelTransports).length > 0 ? callbacks : {},
    options.jobHandlers,
  );
  const odooHandlers = merged[QUEUES.odooSync];
  // Every finished ERP sync, of any slice, is health's `lastSync.odoo`.
  const jobHandlers: JobHandlers = odooHandlers ? { ...merged, [QUEUES.odooSync]: afterEach(odooHandlers, () => recordSync('odoo')(clock.now())) } : merged;

  const probeQueue = QUEUE_NAMES[0] as string;
  const probeTimeout = { timeoutMs: config.health.probeTimeoutMs };
  // Over the configured API (ODOO_API); asked at start-up too, and health reuses that answer.
  const odooCredentials = odoo ? cachedCredentialCheck('Odoo', odooCredentialProbe({ ...odoo, timeoutMs: probeTimeout.timeoutMs }), probeTimeout) : undefined;
  const functions: FunctionDef[] = [
    ...healthFunctions({
      probes: {
        // Peeking the dead-letter sub-queue opens a link end to end without touching live work.
        serviceBus: async () => {
          const receiver = serviceBus.createReceiver(probeQueue, { subQueueType: 'deadLetter' });
          try {
            await receiver.peekMessages(1);
            return true;
          } finally {
            await receiver.close();
          }
        },
        tables: () => tables.probe(config.health.probeTimeoutMs),
      },
      local: {
        serviceBus: isLocalServiceBus(config.serviceBus),
        tables: isLocalTables(config.tables),
      },
      integrations: config.integrations,
      // A configured integration whose credentials are refused is `unavailable`, not its configured state.
      credentials: {
        ...(config.stripe ? { stripe: cachedCredentialCheck('Stripe', stripeCredentialProbe(config.stripe), probeTimeout) } : {}),
        ...(config.btcpay ? { btcpay: cachedCredentialCheck('BTCPay', btcpayCredentialProbe(config.btcpay), probeTimeout) } : {}),
        ...(odooCredentials ? { odoo: odooCredentials } : {}),
      },
      lastSync: () => integrationState.lastSync(),
      ...(odoo ? { transports: { odoo: odoo.api } } : {}),
      timeoutMs: config.health.probeTimeoutMs,
    }),
    ...deadLetterFunctions(deadLetters),
    ...attentionFunctions(new AttentionList(slices.flatMap((slice) => (slice.attention ? [slice.attention] : [])))),
    ...callbackAdminFunctions(callbackAdmin),
    whoamiFunction(),
    ...consoleFunctions(),
    ...slices.flatMap((slice) => slice.functions),
    stripeWebhookFunction({ payments, routes: slices.flatMap((slice) => slice.paymentEvents ?? []) }),
    outboxRelayFunction(outboxRelay, { schedule: config.outbox.relaySchedule, minAgeMs: config.outbox.relayMinAgeMs }),
    idempotencySweepFunction(idempotency, { schedule: config.idempotency.sweepSchedule, retentionHours: config.idempotency.retentionHours, log }),
    ...(rateBudgets ? [rateLimitSweepFunction(rateBudgets, { log })] : []),
    deadLetterReplaysFunction(deadLetters, log),
    ...jobFunctions(options.queueConsumers === false ? {} : jobHandlers, {
      sender,
      processed: new TableProcessedJobs(tables.client(PROCESSED_JOBS_TABLE)),
      policy: { maxAttempts: config.jobs.maxAttempts, baseMs: config.jobs.retryBaseMs, capMs: config.jobs.retryCapMs },
      typePolicies: { [CALLBACK_JOB]: callbackPolicy },
      log,
      telemetry,
    }),
  ];
  functions.push(openApiFunction(() => functions));

  const pipeline = createHttpPipeline({
    cors: new CorsOrigins(config.cors.origins),
    auth: ApiKeyAuthenticator.fromConfig(config),
    rateLimiter: rateLimiter('api-keys', config.rateLimit.perKey),
    log,
    telemetry,
    idempotency,
    now: clock.now,
  });

  return {
    // Every failed HTTP or timer invocation is an exception, every webhook call a WebhookCall event.
    functions: withInvocationTelemetry(functions, telemetry),
    pipeline,
    services: { serviceBus, tables, sender, outboxRelay, deadLetters, log, telemetry },
    init: async () => {
      // Application Insights is loaded only when configured: its import alone costs ~0.8 s.
      const connection = config.telemetry.connectionString;
      const [loaded, odooCheck] = await Promise.all([
        connection ? loadAppInsightsTelemetry(connection) : undefined,
        odooCredentials?.(),
        tables.ensureTables([...PLATFORM_TABLES, ...aggregateTables, ...SLICE_TABLES, ...(rateBudgets ? [RATE_LIMITS_TABLE] : [])]),
      ]);
      if (loaded) telemetry.use(loaded);
      // Start-up says at once when the chosen Odoo API does not answer or refuses us; the app still
      // starts (sync jobs wait and retry, health shows the reason), as it does for any integration.
      if (odoo && odooCheck) {
        const api = ODOO_API_NAMES[odoo.api];
        if (odooCheck.ok) log.info(`Odoo answers over ${api}`, { odooApi: odoo.api });
        else log.error(`Odoo does not answer over ${api} (ODOO_API=${odoo.api}): ${odooCheck.reason}`, { odooApi: odoo.api });
      }
    },
    close: async () => {
      await telemetry.flush();
      await smtpMailer?.close();
      await serviceBusSender.close();
      await serviceBusClient.made?.close();
    },
  };
}
