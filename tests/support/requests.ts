/**
 * What tests (and the drills, which run outside vitest) send and record: valid request bodies with
 * fresh ids and e-mail addresses, and a job sender that remembers every job. No vitest imports here.
 */
import { randomUUID } from 'node:crypto';
import type { JobEnvelope, JobSender, OutgoingJob } from '../../shared/platform/jobs';

/** `HH:00` Berlin wall time on a date, as ISO 8601 with Berlin's offset on that day. */
function berlinTime(date: { year: number; month: number; day: number }, hour: number): string {
  // 07:00 UTC is past any DST switch (01:00 UTC), so this is the day's offset.
  const offset = new Intl.DateTimeFormat('en-US', { timeZone: 'Europe/Berlin', timeZoneName: 'longOffset' })
    .formatToParts(new Date(Date.UTC(date.year, date.month - 1, date.day, 7)))
    .find((part) => part.type === 'timeZoneName')
    ?.value.replace('GMT', '');
  const pad = (value: number) => String(value).padStart(2, '0');
  return `${date.year}-${pad(date.month)}-${pad(date.day)}T${pad(hour)}:00:00${offset || '+00:00'}`;
}

/** A slot tomorrow 09:00–11:00 Berlin time, or Monday's if tomorrow is a Sunday (closed). */
export function nextSlot(now = new Date()): { slotStart: string; slotEnd: string } {
  const [year, month, day] = new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/Berlin' }).format(now).split('-').map(Number) as [number, number, number];
  const target = new Date(Date.UTC(year, month - 1, day + 1));
  if (target.getUTCDay() === 0) target.setUTCDate(target.getUTCDate() + 1);
  const date = { year: target.getUTCFullYear(), month: target.getUTCMonth() + 1, day: target.getUTCDate() };
  return { slotStart: berlinTime(date, 9), slotEnd: berlinTime(date, 11) };
}

/** A valid `POST /v1/bookings` body with a fresh e-mail address (so inbox checks find only its mails). */
export function bookingBody(overrides: Record<string, unknown> = {}) {
  return {
    customer: { name: 'Erika Mustermann', email: `erika.${randomUUID().slice(0, 8)}@example.de`, phone: '+49 171 1234567' },
    vehicle: { brand: 'VW', model: 'Golf', licensePlate: 'M-AB 1234' },
    serviceType: 'inspection',
    pickup: { address: { street: 'Leopoldstraße 1', zip: '80802', city: 'München' }, ...nextSlot() },
    ...overrides,
  };
}

/** A valid order body for the `pos` channel with a fresh external id and e-mail. */
export function orderBody(overrides: Record<string, unknown> = {}) {
  const suffix = randomUUID().slice(0, 8);
  return {
    source: 'pos',
    externalId: `POS-${suffix}`,
    currency: 'EUR',
    customer: { email: `kunde.${suffix}@example.de`, name: 'Karla Kundin', phone: '+49 30 1234567' },
    items: [
      { sku: 'WIPER-01', name: 'Wischerblätter', quantity: 2, unitAmount: 1_995, taxRatePercent: 19 },
      { sku: 'OIL-5W30', name: 'Motoröl 5W-30, 1 l', quantity: 1, unitAmount: 2_490, taxRatePercent: 19 },
    ],
    ...overrides,
  };
}

/** Passes every job on to Service Bus and remembers it: counts what was sent, whoever consumes it. */
export class RecordingSender implements JobSender {
  readonly sent: OutgoingJob[] = [];
  constructor(private readonly inner: JobSender) {}
  async send(jobs: OutgoingJob[]): Promise<void> {
    await this.inner.send(jobs);
    this.sent.push(...jobs);
  }
  /** The envelopes sent about one booking (to one queue), in order. */
  jobs(subject: string, queue?: string): JobEnvelope[] {
    return this.sent.filter((job) => job.envelope.subject === subject && (queue === undefined || job.queue === queue)).map((job) => job.envelope);
  }
  /** `queue type` of every job sent about one booking, sorted. */
  about(subject: string): string[] {
    return this.sent
      .filter((job) => job.envelope.subject === subject)
      .map((job) => `${job.queue} ${job.envelope.type}`)
      .sort();
  }
}
