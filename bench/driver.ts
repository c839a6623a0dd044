// Time from payment to the pick-up trip received by the Driver-App sandbox, over N bookings, and
// trips sent per booking journey. A benchmark that prints figures, not a test.
import Stripe from 'stripe';
import { consoleLogger } from '../shared/adapters/telemetry/log';
import { FREE_PORTS, LOCAL_SECRETS, startLocalRuntime } from '../local/runtime';
import { percentile } from './stats';

interface TripRow {
  tripId: string;
  type: string;
  bookingId: string;
  receivedAt: string;
}

function slotTomorrow(): { slotStart: string; slotEnd: string } {
  const day = new Date(Date.now() + 24 * 3600_000);
  if (day.getUTCDay() === 0) day.setUTCDate(day.getUTCDate() + 1);
  const date = day.toISOString().slice(0, 10);
  return { slotStart: `${date}T10:00:00Z`, slotEnd: `${date}T12:00:00Z` };
}

export async function benchDriver(bookings: number): Promise<Record<string, number>> {
  const runtime = await startLocalRuntime({
    ports: FREE_PORTS,
    env: { TABLE_PREFIX: 'benchdriver', BOOKING_RATE_LIMIT_PER_IP: '100000', RATE_LIMIT_PER_KEY: '100000', ODOO_SANDBOX: 'off' },
    timers: false,
    log: consoleLogger({ silent: true }),
  });
  try {
    const stripe = new Stripe(LOCAL_SECRETS.stripeSecretKey, { host: '127.0.0.1', port: runtime.stripe?.port, protocol: 'http' });
    const trips = async () => ((await (await fetch(`${runtime.driver?.url}/trips`)).json()) as { items: TripRow[] }).items;
    const paidAt = new Map<string, number>();
    // One booking at a time: the figure is the pipeline's delay, not a backlog's.
    for (let i = 0; i < bookings; i++) {
      const created = (await (
        await fetch(`${runtime.url}/v1/bookings`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            customer: { name: `Kunde ${i}`, email: `driver-bench-${i}@example.com`, phone: '+49 170 1234567' },
            vehicle: { brand: 'VW', model: 'Golf', licensePlate: 'B-XY 1' },
            serviceType: 'inspection',
            pickup: { address: { street: 'Hauptstr. 1', zip: '10115', city: 'Berlin' }, ...slotTomorrow() },
          }),
        })
      ).json()) as { id: string; payment: { paymentIntentId: string } };
      await stripe.paymentIntents.confirm(created.payment.paymentIntentId, { payment_method: 'pm_card_visa' });
      // The sandbox sends the webhook right after answering the confirmation: this is "paid".
      paidAt.set(created.id, Date.now());
      const deadline = Date.now() + 10_000;
      while (!(await trips()).some((trip) => trip.bookingId === created.id)) {
        if (Date.now() > deadline) throw new Error(`no trip for booking ${created.id}`);
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
    }
    const received = await trips();
    const delays = received
      .filter((trip) => trip.type === 'b2c_pickup' && paidAt.has(trip.bookingId))
      .map((trip) => Date.parse(trip.receivedAt) - (paidAt.get(trip.bookingId) as number))
      .sort((a, b) => a - b);
    const perBooking = new Map<string, number>();
    for (const trip of received) perBooking.set(trip.bookingId, (perBooking.get(trip.bookingId) ?? 0) + 1);
    return {
      bookings,
      paymentToTripP50Ms: percentile(delays, 50),
      paymentToTripP99Ms: percentile(delays, 99),
      maxTripsPerBookingBeforeDelivery: Math.max(...perBooking.values()),
    };
  } finally {
    await runtime.stop();
  }
}
