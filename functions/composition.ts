import { ServiceBusClient } from '@azure/service-bus';
import { randomBytes, randomUUID } from 'node:crypto';
import { HttpTripDispatcher } from '../slices/bookings/adapters/driver-app-dispatcher';
import { isFresh, verifySignature } from '../slices/bookings/adapters/driver-app-signature';
import { SmtpMailer } from '../shared/adapters/email/smtp-mailer';
import { OdooClient } from '../shared/adapters/odoo/odoo-client';
import { OdooErp } from '../shared/adapters/odoo/odoo-erp';
import { ServiceBusDeadLetterQueues } from '../shared/adapters/service-bus/dead-letters';
import { ServiceBusJobSender } from '../shared/adapters/service-bus/sender';
import { StripeGateway, UnconfiguredPaymentGateway } from '../shared/adapters/stripe/stripe-gateway';
import { DEAD_LETTER_AUDIT_TABLE, TableDeadLetterAudit } from '../shared/adapters/table-storage/audit';
import { BOOKINGS_TABLE, TableBookingRepository } from '../shared/adapters/table-storage/booking-repository';
import { INTEGRATION_STATE_TABLE, type Integration, TableIntegrationState } from '../shared/adapters/table-storage/integration-state';
import { OutboxCommitter, TableOutboxStore } from '../shared/adapters/table-storage/outbox';
import { PROCESSED_JOBS_TABLE, TableProcessedJobs } from '../shared/adapters/table-storage/processed-jobs';
import { TableStore } from '../shared/adapters/table-storage/tables';
import { loadAppInsightsTelemetry } from '../shared/adapters/telemetry/app-insights';
import { consoleLogger } from '../shared/adapters/telemetry/log';
import { DRIVER_DISPATCH_QUEUE, ODOO_SYNC_QUEUE } from '../slices/bookings/app/jobs';
import { dispatchHandlers } from '../slices/bookings/app/dispatch-trip';
import type { JobHandler } from '../shared/platform/consume-job';
import { DeadLetterAdmin } from '../shared/platform/dead-letters';
import type { JobSender } from '../shared/platform/jobs';
import { NOTIFICATIONS_QUEUE, notificationHandlers } from '../slices/bookings/app/notifications';
import { type Logger, OutboxRelay } from '../shared/platform/outbox';
import { odooSyncHandlers } from '../slices/bookings/app/sync-to-erp';
import { SwitchableTelemetry, timedPort } from '../shared/platform/telemetry';
import { type Config, QUEUE_NAMES } from '../shared/config';
import type { FunctionDef } from '../shared/function-table';
import { ApiKeyAuthenticator } from '../shared/http/auth';
import { createHttpPipeline } from '../shared/http/pipeline';
import { FixedWindowRateLimiter } from '../shared/http/rate-limit';
import { deadLetterFunctions } from './admin-dead-letters';
import { bookingFunctions } from '../slices/bookings/http/bookings';
import { driverAppFunctions } from '../slices/bookings/http/trips';
import { healthFunctions } from './health';
import { type JobHandlers, jobFunctions } from './jobs';
import { openApiFunction } from './openapi';
import { outboxRelayFunction } from './outbox-relay';
import { stripeWebhookFunction } from './stripe-webhook';

/** Tables every instance needs; aggregate tables add themselves as their areas arrive. */
export const PLATFORM_TABLES = [PROCESSED_JOBS_TABLE, DEAD_LETTER_AUDIT_TABLE, INTEGRATION_STATE_TABLE] as const;

/** Tables that hold aggregates and their outbox rows (swept by the outbox relay timer). */
export const AGGREGATE_TABLES: readonly string[] = [BOOKINGS_TABLE];

export interface CompositionOptions {
  /** Job handlers by queue and type; a queue without handlers keeps its jobs waiting. */
  jobHandlers?: JobHandlers;
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

const isLocalServiceBus = (connection: string) => /UseDevelopmentEmulator=true/i.test(connection);
const isLocalTables = (connection: string) => /devstoreaccount1|UseDevelopmentStorage=true/i.test(connection);

/** The one place that turns configuration into adapters, use cases and the function table. */
export function compose(config: Config, options: CompositionOptions = {}): Composition {
  const log = options.log ?? consoleLogger();
  const telemetry = new SwitchableTelemetry();
  const serviceBus = new ServiceBusClient(config.serviceBus.connectionString);
  const serviceBusSender = new ServiceBusJobSender(serviceBus);
  const timedSender = timedPort<JobSender>(serviceBusSender, 'serviceBus', telemetry);
  const sender = options.wrapSender ? options.wrapSender(timedSender) : timedSender;
  const tables = new TableStore(config.tables);
  const aggregateTables = [...AGGREGATE_TABLES, ...(options.aggregateTables ?? [])];

  const outboxRelay = new OutboxRelay(
    new TableOutboxStore(aggregateTables.map((name) => tables.client(name))),
    sender,
    log,
  );
  const deadLetters = new DeadLetterAdmin({
    queues: QUEUE_NAMES,
    deadLetters: new ServiceBusDeadLetterQueues(serviceBus),
    sender,
    audit: new TableDeadLetterAudit(tables.client(DEAD_LETTER_AUDIT_TABLE)),
  });
  const processed = new TableProcessedJobs(tables.client(PROCESSED_JOBS_TABLE));
  const probeQueue = QUEUE_NAMES[0];

  // Every call through these ports is reported as a dependency (DESIGN.md §8).
  const bookings = timedPort(new TableBookingRepository(tables.client(BOOKINGS_TABLE), new OutboxCommitter(outboxRelay)), 'tables', telemetry);
  const payments = timedPort(config.stripe ? new StripeGateway(config.stripe) : new UnconfiguredPaymentGateway(), 'stripe', telemetry);
  const smtpMailer = config.mail ? new SmtpMailer({ url: config.mail.smtpUrl, from: config.mail.from }) : undefined;
  const mailer = smtpMailer ? timedPort(smtpMailer, 'smtp', telemetry) : undefined;
  const clock = { now: () => new Date(), newId: randomUUID };
  const integrationState = new TableIntegrationState(tables.client(INTEGRATION_STATE_TABLE));
  const driverApp = config.driverApp;
  const dispatcher =
    driverApp.webhookUrl && driverApp.secret
      ? timedPort(new HttpTripDispatcher({ webhookUrl: driverApp.webhookUrl, secret: driverApp.secret, timeoutMs: driverApp.timeoutMs }), 'driverApp', telemetry)
      : undefined;
  const bookingDeps = { ...clock, repo: bookings, payments, telemetry };
  const odoo = config.odoo;
  const erp = odoo
    ? timedPort(new OdooErp(new OdooClient(odoo), { paymentJournalId: odoo.paymentJournalId, lineTaxIds: odoo.lineTaxIds }), 'odoo', telemetry)
    : undefined;
  /** Health's `lastSync`; a failure to record it must not fail (and so repeat) the sync itself. */
  const recordSync = (integration: Integration) => (at: Date) =>
    integrationState.recordSync(integration, at).catch((error: unknown) => log.warn('could not record the sync time', { integration, error: String(error) }));
  const recordingSync = (handlers: Record<string, JobHandler>, integration: Integration): Record<string, JobHandler> =>
    Object.fromEntries(
      Object.entries(handlers).map(([type, handler]) => [
        type,
        async (job: Parameters<JobHandler>[0]) => {
          await handler(job);
          await recordSync(integration)(new Date());
        },
      ]),
    );
  // Jobs of a queue without handlers wait there until a worker for them is deployed.
  const jobHandlers = {
    ...(erp
      ? { [ODOO_SYNC_QUEUE]: recordingSync(odooSyncHandlers({ bookings, erp, catalogue: config.bookings.catalogue, now: clock.now, log }), 'odoo') }
      : {}),
    ...(mailer ? { [NOTIFICATIONS_QUEUE]: notificationHandlers({ mailer, bookings, catalogue: config.bookings.catalogue, log }) } : {}),
    ...(dispatcher
      ? {
          [DRIVER_DISPATCH_QUEUE]: dispatchHandlers({
            repo: bookings,
            dispatcher,
            now: clock.now,
            recordSync: recordSync('driverApp'),
            log,
          }),
        }
      : {}),
    ...options.jobHandlers,
  };

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
        serviceBus: isLocalServiceBus(config.serviceBus.connectionString),
        tables: isLocalTables(config.tables.connectionString),
      },
      integrations: config.integrations,
      lastSync: () => integrationState.lastSync(),
      timeoutMs: config.health.probeTimeoutMs,
    }),
    ...deadLetterFunctions(deadLetters),
    ...bookingFunctions({
      repo: bookings,
      create: {
        ...bookingDeps,
        catalogue: config.bookings.catalogue,
        hours: config.bookings.hours,
        rules: config.bookings.rules,
        newAccessToken: () => `bat_${randomBytes(32).toString('base64url')}`,
      },
      cancel: bookingDeps,
      findings: bookingDeps,
      catalogue: config.bookings.catalogue,
      creationLimiter: new FixedWindowRateLimiter({ limit: config.bookings.rateLimitPerIp, windowMs: config.rateLimit.windowMs }),
    }),
    stripeWebhookFunction(bookingDeps),
    ...driverAppFunctions({
      trips: { ...clock, repo: bookings },
      verify: (rawBody, headers) =>
        Boolean(driverApp.secret) &&
        verifySignature(rawBody, headers['x-webhook-signature'], driverApp.secret as string) &&
        isFresh(headers['x-webhook-timestamp'], new Date(), driverApp.signatureWindowSeconds),
    }),
    outboxRelayFunction(outboxRelay, { schedule: config.outbox.relaySchedule, minAgeMs: config.outbox.relayMinAgeMs }),
    ...jobFunctions(jobHandlers, {
      sender,
      processed,
      policy: { maxAttempts: config.jobs.maxAttempts, baseMs: config.jobs.retryBaseMs, capMs: config.jobs.retryCapMs },
      log,
      telemetry,
    }),
  ];
  functions.push(openApiFunction(() => functions));

  const pipeline = createHttpPipeline({
    auth: ApiKeyAuthenticator.fromConfig(config),
    rateLimiter: FixedWindowRateLimiter.fromConfig(config),
    log,
    telemetry,
  });

  return {
    functions,
    pipeline,
    services: { serviceBus, tables, sender, outboxRelay, deadLetters, log, telemetry },
    init: async () => {
      // Application Insights is loaded only when configured: its import alone costs ~0.8 s.
      const connection = config.telemetry.connectionString;
      const [loaded] = await Promise.all([
        connection ? loadAppInsightsTelemetry(connection) : undefined,
        tables.ensureTables([...PLATFORM_TABLES, ...aggregateTables]),
      ]);
      if (loaded) telemetry.use(loaded);
    },
    close: async () => {
      await telemetry.flush();
      await smtpMailer?.close();
      await serviceBusSender.close();
      await serviceBus.close();
    },
  };
}
