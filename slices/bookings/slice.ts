import { randomBytes } from 'node:crypto';
import type { AggregateCodec } from '../../shared/adapters/table-storage/aggregate-store';
import type { RateLimiterFactory } from '../../shared/http/rate-limit';
import type { AggregateStore } from '../../shared/platform/aggregate';
import { withAttentionReport } from '../../shared/platform/attention';
import type { Clock } from '../../shared/platform/clock';
import type { Erp } from '../../shared/platform/erp';
import type { Logger } from '../../shared/platform/log';
import type { Mailer } from '../../shared/platform/mailer';
import type { PaymentGateway } from '../../shared/platform/payments';
import { QUEUES } from '../../shared/platform/queues';
import type { DependencyTarget, Telemetry } from '../../shared/platform/telemetry';
import type { SliceDefinition } from '../../shared/slice';
import { isAuthenticDriverRequest } from './adapters/driver-app-signature';
import { HttpTripDispatcher } from './adapters/driver-app-dispatcher';
import { attentionColumns, bookingAttention } from './app/attention';
import { dispatchHandlers } from './app/dispatch-trip';
import { handleStripeEvent } from './app/handle-stripe-event';
import { notificationHandlers } from './app/notifications';
import { ACCESS_TOKEN_HASH } from './app/ports';
import { bookingSyncHandlers } from './app/sync-to-erp';
import { withdrawalHandlers } from './app/withdraw-trip';
import type { BookingsConfig } from './config';
import { type Booking, bookingSchema } from './domain/booking';
import { bookingMachine } from './domain/booking-status';
import { bookingFunctions } from './http/bookings';
import { driverAppFunctions } from './http/trips';

/** The table of bookings (the store adds the prefix). */
export const BOOKINGS_TABLE = 'Bookings';

/** A booking's state row: the JSON, its status as a column, the token hash beside it. */
export const bookingCodec: AggregateCodec<Booking> = {
  rowKey: 'booking',
  machine: bookingMachine.name,
  schema: bookingSchema,
  columns: (booking) => ({ status: booking.status, ...attentionColumns(booking) }),
  attributes: [ACCESS_TOKEN_HASH],
};

/** What the bookings slice is built from: its configuration and the platform's ports. */
export interface BookingsSliceDeps {
  config: BookingsConfig;
  clock: Clock;
  log: Logger;
  telemetry: Telemetry;
  payments: PaymentGateway;
  /** The ERP, when configured; without it `booking.sync` jobs wait in `odoo-sync`. */
  erp?: Erp;
  /** Outgoing e-mail, when configured; without it notices wait in `notifications`. */
  mailer?: Mailer;
  /** A store for one kind of aggregate in one of the slice's tables. */
  aggregateStore<T extends { id: string; version: number }>(table: string, codec: AggregateCodec<T>): AggregateStore<T>;
  /** The port with every call reported as a dependency of `target`. */
  timed<T extends object>(port: T, target: DependencyTarget): T;
  /** Records when an integration last took our data (health's `lastSync`). */
  recordSync(integration: 'driverApp'): (at: Date) => Promise<void>;
  /** Builds a rate limiter (shared by all instances unless `RATE_LIMIT_STORE=memory`). */
  rateLimiter: RateLimiterFactory;
}

/**
 * Bookings: the car-maintenance booking journey (book, pay, pick-up, findings, delivery), its
 * Driver-App trips, customer e-mails and Odoo sync.
 */
export const bookingsSlice: SliceDefinition<BookingsSliceDeps> = {
  name: 'bookings',
  aggregateTables: [BOOKINGS_TABLE],
  build(deps) {
    const { config, clock, log, telemetry, payments } = deps;
    const bookings = withAttentionReport(deps.aggregateStore(BOOKINGS_TABLE, bookingCodec), {
      kind: 'booking',
      reasonOf: (booking) => (booking.flags.needsAttention ? (booking.flags.attentionReason ?? 'needs attention') : undefined),
      log,
      telemetry,
    });
    const context = { bookings, clock };
    const driverApp = config.driverApp;
    const dispatcher =
      driverApp.webhookUrl && driverApp.secret
        ? deps.timed(new HttpTripDispatcher({ webhookUrl: driverApp.webhookUrl, secret: driverApp.secret, timeoutMs: driverApp.timeoutMs }), 'driverApp')
        : undefined;
    const catalogue = config.bookings.catalogue;

    return {
      functions: [
        ...bookingFunctions({
          bookings,
          create: {
            ...context,
            payments,
            catalogue,
            hours: config.bookings.hours,
            rules: config.bookings.rules,
            newAccessToken: () => `bat_${randomBytes(32).toString('base64url')}`,
          },
          cancel: { ...context, payments },
          findings: { ...context, payments },
          catalogue,
          creationLimiter: deps.rateLimiter('bookings', config.bookings.rateLimitPerIp),
        }),
        ...driverAppFunctions({
          trips: context,
          isAuthentic: (rawBody, headers) =>
            isAuthenticDriverRequest(rawBody, headers, { secret: driverApp.secret, windowSeconds: driverApp.signatureWindowSeconds, now: clock.now() }),
        }),
      ],
      // A queue without a handler here keeps its jobs until a worker for them is configured.
      jobHandlers: {
        ...(deps.erp ? { [QUEUES.odooSync]: bookingSyncHandlers({ bookings, erp: deps.erp, catalogue, clock, log, telemetry }) } : {}),
        ...(deps.mailer ? { [QUEUES.notifications]: notificationHandlers({ mailer: deps.mailer, bookings, catalogue, log }) } : {}),
        ...(dispatcher
          ? {
              [QUEUES.driverDispatch]: {
                ...dispatchHandlers({ ...context, dispatcher, recordSync: deps.recordSync('driverApp'), log }),
                ...withdrawalHandlers({ ...context, withdrawer: dispatcher, recordSync: deps.recordSync('driverApp'), log }),
              },
            }
          : {}),
      },
      paymentEvents: [{ metadataKey: 'bookingId', handle: (event) => handleStripeEvent({ ...context, telemetry }, event) }],
      attention: bookingAttention(context),
    };
  },
};
