// Child process for tests/integration/telemetry.test.ts: NODE_EXTRA_CA_CERTS is read only at
// process start, so the SDK must run in a process started with the catcher's certificate trusted.
import { loadAppInsightsTelemetry } from '../../shared/adapters/telemetry/app-insights';

const [connectionString, operationId] = process.argv.slice(2);
if (!connectionString || !operationId) throw new Error('usage: telemetry-client <connectionString> <operationId>');

async function main(cs: string, id: string): Promise<void> {
  const telemetry = await loadAppInsightsTelemetry(cs);
  telemetry.event('BookingConfirmed', { operationId: id, bookingId: 'bk_1', stripeKey: 'sk_test_x', note: 'paid with sk_test_x' });
  telemetry.dependency({ target: 'stripe', name: 'paymentIntents.create', durationMs: 42, success: true, operationId: id });
  telemetry.request({ name: 'POST /api/bookings', url: 'http://localhost/api/bookings', status: 201, durationMs: 12, operationId: id, success: true });
  telemetry.metric('OdooSyncLatencyMs', 250, { operationId: id, jobType: 'booking.sync', milestone: 'invoice_posted', attempt: '1' });
  telemetry.exception(new Error('Invalid API Key provided: sk_test_x'), { operationId: id });
  await telemetry.flush();
}

// Exit at once when done: the SDK keeps timers alive for seconds afterwards.
main(connectionString, operationId).then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
