import { describe, expect, it } from 'vitest';
import type { BookingStore, StoredBooking } from '../../slices/bookings/app/ports';
import { JobError, newEnvelope, type JobEnvelope, type JobRequest } from '../../shared/platform/jobs';
import { QUEUES } from '../../shared/platform/queues';
import type { Mailer, OutgoingMail } from '../../shared/platform/mailer';
import { formatSlot } from '../../slices/bookings/app/notification-templates';
import {
  NOTIFICATION_TYPES,
  notificationHandlers,
  notificationJob,
  type NotificationPayload,
  type NotificationType,
} from '../../slices/bookings/app/notifications';
import { bookingSchema, type Booking } from '../../slices/bookings/domain/booking';
import type { BookingStatus } from '../../slices/bookings/domain/booking-status';
import { DEFAULT_CATALOGUE } from '../../slices/bookings/domain/catalogue';
import type { Finding, FindingStatus } from '../../slices/bookings/domain/finding';

class MemoryMailer implements Mailer {
  readonly sent: OutgoingMail[] = [];
  failWith?: Error;
  async send(mail: OutgoingMail) {
    if (this.failWith) throw this.failWith;
    this.sent.push(mail);
  }
}

class MemoryBookings implements Pick<BookingStore, 'get'> {
  readonly reads: string[] = [];
  private readonly rows = new Map<string, StoredBooking>();
  put(booking: Booking) {
    this.rows.set(booking.id, { state: booking, etag: `W/"${booking.version}"`, attributes: { accessTokenHash: 'a'.repeat(64) } });
  }
  async get(id: string) {
    this.reads.push(id);
    return this.rows.get(id);
  }
}

const AT = '2026-11-20T10:00:00.000Z';
const HOME = { street: 'Leopoldstraße 12', zip: '80802', city: 'München' };
const OFFICE = { street: 'Marienplatz 8', zip: '80331', city: 'München' };

// Ids that would leak payment data if a template ever printed the payment or finding records.
const SECRETS = ['pi_booking_SECRET', 'cus_SECRET', 'pm_card_SECRET', 'pi_finding_SECRET', 'tok_', 'accessToken'];

function finding(id: string, status: FindingStatus, description: string, priceCents: number): Finding {
  return { id, description, priceCents, currency: 'EUR', status, paymentIntentId: 'pi_finding_SECRET', createdAt: AT, updatedAt: AT };
}

function bookingIn(status: BookingStatus, language: 'de' | 'en' = 'de', overrides: Partial<Booking> = {}): Booking {
  // Parsed, so the fixture is a booking the repository could really return.
  return bookingSchema.parse({
    id: 'bk-7f3a',
    status,
    customer: { name: 'Erika Mustermann', email: 'erika@example.com', phone: '+491711234567', language },
    vehicle: { brand: 'VW', model: 'Golf', licensePlate: 'M-AB 1234' },
    serviceType: 'inspection',
    priceCents: 14900,
    currency: 'EUR',
    // 08:00Z in November is 09:00 in Berlin (CET): a mail showing 08:00 formatted in UTC.
    pickup: { address: HOME, slotStart: '2026-11-24T08:00:00.000Z', slotEnd: '2026-11-24T10:00:00.000Z' },
    delivery: { address: HOME },
    payment: { status: 'succeeded', paymentIntentId: 'pi_booking_SECRET', stripeCustomerId: 'cus_SECRET', paymentMethodId: 'pm_card_SECRET' },
    findings: [finding('f-1', 'PENDING_APPROVAL', 'Bremsbeläge vorne verschlissen', 8900), finding('f-2', 'REQUIRES_ACTION', 'Wischerblätter erneuern', 3450)],
    flags: {},
    createdAt: AT,
    updatedAt: AT,
    version: 4,
    ...overrides,
  });
}

let ids = 0;
function envelopeOf(request: JobRequest): JobEnvelope {
  return newEnvelope(request, new Date(AT), () => `generated-${++ids}`);
}

function setup(...bookings: Booking[]) {
  const mailer = new MemoryMailer();
  const repository = new MemoryBookings();
  for (const booking of bookings) repository.put(booking);
  const handlers = notificationHandlers({ mailer, bookings: repository, catalogue: DEFAULT_CATALOGUE });
  const run = async <T extends NotificationType>(type: T, booking: Pick<Booking, 'id'>, payload: NotificationPayload<T>) => {
    const job = envelopeOf(notificationJob(type, booking, payload));
    await handlers[type](job);
    return job;
  };
  return { mailer, repository, handlers, run };
}

const SLOT = { de: 'Dienstag, 24. November 2026, 09:00–11:00 Uhr', en: 'Tuesday, 24 November 2026, 09:00–11:00 (Berlin time)' };
const PRICE = { de: '149,00\u00a0€', en: '€149.00' };
const ADDRESS = 'Leopoldstraße 12, 80802 München';

interface Expectation {
  subject: string;
  /** Facts the plain text and the HTML must both state. */
  facts: string[];
}

interface RenderCase {
  type: NotificationType;
  status: BookingStatus;
  payload: Record<string, unknown>;
  de: Expectation;
  en: Expectation;
}

const common = {
  de: ['Guten Tag Erika Mustermann', 'Inspektion', 'VW Golf (M-AB 1234)', 'bk-7f3a'],
  en: ['Hello Erika Mustermann', 'Inspection', 'VW Golf (M-AB 1234)', 'bk-7f3a'],
};

const RENDER_CASES: RenderCase[] = [
  {
    type: 'booking.confirmed',
    status: 'CONFIRMED',
    payload: {},
    de: { subject: 'Ihre Buchung ist bestätigt: Inspektion', facts: [SLOT.de, ADDRESS, PRICE.de] },
    en: { subject: 'Your booking is confirmed: Inspection', facts: [SLOT.en, ADDRESS, PRICE.en] },
  },
  {
    type: 'booking.cancelled',
    status: 'CANCELLED',
    payload: { refunded: true },
    de: { subject: 'Ihre Buchung wurde storniert: Inspektion', facts: [SLOT.de, `Betrag von ${PRICE.de} erstatten wir`] },
    en: { subject: 'Your booking has been cancelled: Inspection', facts: [SLOT.en, `refunding the ${PRICE.en} you paid`] },
  },
  {
    type: 'finding.added',
    status: 'IN_WORKSHOP',
    payload: { findingId: 'f-1' },
    de: {
      subject: 'Zusätzliche Arbeiten an Ihrem Fahrzeug: Ihre Freigabe wird benötigt',
      facts: ['Bremsbeläge vorne verschlissen', '89,00\u00a0€', 'in der App frei'],
    },
    en: { subject: 'Extra work on your car: your approval is needed', facts: ['Bremsbeläge vorne verschlissen', '€89.00', 'approve or decline it in the app'] },
  },
  {
    type: 'finding.requires-action',
    status: 'IN_WORKSHOP',
    payload: { findingId: 'f-2' },
    de: { subject: 'Bitte bestätigen Sie Ihre Zahlung für die Zusatzarbeiten', facts: ['Wischerblätter erneuern', '34,50\u00a0€', 'App'] },
    en: { subject: 'Please confirm your payment for the extra work', facts: ['Wischerblätter erneuern', '€34.50', 'open the app'] },
  },
  {
    type: 'trip.assigned',
    status: 'CONFIRMED',
    payload: { leg: 'pickup' },
    de: { subject: 'Ihr Fahrer für die Abholung steht fest', facts: [SLOT.de, ADDRESS] },
    en: { subject: 'Your pick-up driver has been assigned', facts: [SLOT.en, ADDRESS] },
  },
  {
    type: 'trip.assigned',
    status: 'READY_FOR_DELIVERY',
    payload: { leg: 'delivery' },
    de: { subject: 'Ihr Fahrzeug ist fertig und kommt zurück', facts: [ADDRESS] },
    en: { subject: 'Your car is ready and on its way back', facts: [ADDRESS] },
  },
  {
    type: 'trip.pickup-completed',
    status: 'IN_WORKSHOP',
    payload: {},
    de: { subject: 'Fahrzeug wurde abgeholt', facts: ['Ihr Fahrzeug wurde abgeholt', ADDRESS] },
    en: { subject: 'Your car has been picked up', facts: ['Your car has been picked up', ADDRESS] },
  },
  {
    type: 'trip.delivered',
    status: 'DELIVERED',
    payload: {},
    de: { subject: 'Ihr Fahrzeug wurde zurückgebracht', facts: [`zurückgebracht: ${ADDRESS}`] },
    en: { subject: 'Your car has been returned', facts: [`returned: ${ADDRESS}`] },
  },
];

// The expected facts hold no character HTML escapes, so dropping the tags leaves them readable.
const htmlText = (html: string) => html.replace(/<[^>]+>/g, ' ');

describe('notificationJob', () => {
  it('addresses the notifications queue with the booking as subject and a deterministic id', () => {
    const booking = bookingIn('CONFIRMED');
    expect(QUEUES.notifications).toBe('notifications');
    expect(notificationJob('booking.confirmed', booking, {})).toEqual({
      queue: 'notifications',
      type: 'booking.confirmed',
      subject: 'bk-7f3a',
      payload: {},
      id: 'notify:booking.confirmed:bk-7f3a',
    });
    expect(notificationJob('booking.cancelled', booking, { refunded: true })).toMatchObject({
      id: 'notify:booking.cancelled:bk-7f3a',
      payload: { refunded: true },
    });
    expect(notificationJob('finding.added', booking, { findingId: 'f-1' }).id).toBe('notify:finding.added:bk-7f3a:f-1');
    expect(notificationJob('finding.requires-action', booking, { findingId: 'f-2' }).id).toBe('notify:finding.requires-action:bk-7f3a:f-2');
    expect(notificationJob('trip.assigned', booking, { leg: 'pickup' }).id).toBe('notify:trip.assigned:bk-7f3a:pickup');
    expect(notificationJob('trip.assigned', booking, { leg: 'delivery' }).id).toBe('notify:trip.assigned:bk-7f3a:delivery');
    expect(notificationJob('trip.pickup-completed', booking, {}).id).toBe('notify:trip.pickup-completed:bk-7f3a');
    expect(notificationJob('trip.delivered', booking, {}).id).toBe('notify:trip.delivered:bk-7f3a');
  });

  it('gives the same notice the same id every time, and different notices different ids', () => {
    const booking = bookingIn('IN_WORKSHOP');
    const again = () => notificationJob('finding.added', { id: booking.id }, { findingId: 'f-1' });
    expect(again()).toEqual(again());
    // The envelope keeps the id, so the outbox and the consumer see one job however often it is queued.
    expect(envelopeOf(again()).id).toBe(envelopeOf(again()).id);
    const every = [
      notificationJob('booking.confirmed', booking, {}).id,
      notificationJob('trip.pickup-completed', booking, {}).id,
      notificationJob('trip.delivered', booking, {}).id,
      notificationJob('booking.cancelled', booking, { refunded: false }).id,
      notificationJob('finding.added', booking, { findingId: 'f-1' }).id,
      notificationJob('finding.added', booking, { findingId: 'f-2' }).id,
      notificationJob('finding.requires-action', booking, { findingId: 'f-1' }).id,
      notificationJob('trip.assigned', booking, { leg: 'pickup' }).id,
      notificationJob('trip.assigned', booking, { leg: 'delivery' }).id,
      notificationJob('booking.confirmed', { id: 'bk-other' }, {}).id,
    ];
    expect(new Set(every).size).toBe(every.length);
  });

  it('keeps only the schema fields in the payload and refuses a malformed one', () => {
    const booking = bookingIn('CONFIRMED');
    const spread = { refunded: true, accessToken: 'tok_leak' } as NotificationPayload<'booking.cancelled'>;
    expect(notificationJob('booking.cancelled', booking, spread).payload).toEqual({ refunded: true });
    expect(() => notificationJob('finding.added', booking, {} as NotificationPayload<'finding.added'>)).toThrow();
  });

  it('carries the correlation when given', () => {
    const correlation = { operationId: 'op-1', parentId: 'span-1' };
    expect(notificationJob('booking.confirmed', bookingIn('CONFIRMED'), {}, correlation).correlation).toEqual(correlation);
  });
});

describe('notificationHandlers', () => {
  it('has a handler for every notification type', () => {
    const { handlers } = setup();
    expect(Object.keys(handlers).sort()).toEqual([...NOTIFICATION_TYPES].sort());
    expect(NOTIFICATION_TYPES).toHaveLength(8);
  });

  it.each([
    ['de', 'pickup', 'Die Abholung Ihres Fahrzeugs hat nicht geklappt', 'Wir melden uns in Kürze'],
    ['en', 'delivery', 'We could not return your car', 'We will contact you shortly'],
  ] as const)('tells the customer (%s) about a failed %s trip while the booking is flagged', async (language, leg, subject, line) => {
    const flagged = bookingIn('CONFIRMED', language, { flags: { needsAttention: true, attentionReason: 'no-show' } });
    const { mailer, run } = setup(flagged);
    await run('trip.failed', flagged, { leg });
    expect(mailer.sent.map((mail) => mail.subject)).toEqual([subject]);
    expect(mailer.sent[0]?.text).toContain(line);

    const resolved = bookingIn('CONFIRMED', language);
    const second = setup(resolved);
    await second.run('trip.failed', resolved, { leg });
    expect(second.mailer.sent).toHaveLength(0);
  });

  describe.each(['de', 'en'] as const)('renders in %s', (language) => {
    it.each(RENDER_CASES.map((c) => [`${c.type} ${JSON.stringify(c.payload)}`, c] as const))('%s', async (_name, c) => {
      const booking = bookingIn(c.status, language);
      const { mailer, run } = setup(booking);
      const job = await run(c.type, booking, c.payload as never);

      expect(mailer.sent).toHaveLength(1);
      const mail = mailer.sent[0]!;
      const expected = c[language];
      expect(mail.to).toBe('erika@example.com');
      expect(mail.key).toBe(job.id);
      expect(mail.language).toBe(language);
      expect(mail.subject).toBe(expected.subject);
      for (const fact of [...common[language], ...expected.facts]) {
        expect(mail.text).toContain(fact);
        expect(htmlText(mail.html ?? '')).toContain(fact);
      }
      // The other language's service name must not leak in.
      expect(mail.text).not.toContain(language === 'de' ? 'Inspection' : 'Inspektion');
      for (const secret of SECRETS) expect(`${mail.subject}\n${mail.text}\n${mail.html}`).not.toContain(secret);
    });
  });

  it('says nothing is charged when a cancellation had nothing to refund', async () => {
    const booking = bookingIn('CANCELLED', 'de', { payment: { status: 'canceled' } });
    const { mailer, run } = setup(booking);
    await run('booking.cancelled', booking, { refunded: false });
    expect(mailer.sent[0]?.text).toContain('Für diese Buchung wird Ihnen nichts berechnet.');
    expect(mailer.sent[0]?.text).not.toContain('erstatten');
  });

  it('shows a separate return address only when it differs from the pick-up address', async () => {
    const booking = bookingIn('CONFIRMED', 'en', { delivery: { address: OFFICE } });
    const { mailer, run } = setup(booking);
    await run('booking.confirmed', booking, {});
    expect(mailer.sent[0]?.text).toMatch(/Return address:\s+Marienplatz 8, 80331 München/);
    expect(mailer.sent[0]?.text).toMatch(/Pick-up address:\s+Leopoldstraße 12, 80802 München/);

    const same = setup(bookingIn('CONFIRMED', 'en'));
    await same.run('booking.confirmed', bookingIn('CONFIRMED', 'en'), {});
    expect(same.mailer.sent[0]?.text).not.toContain('Return address');
  });

  it('writes German when the stored booking has no language', async () => {
    const booking = bookingIn('CONFIRMED');
    const legacy = { ...booking, customer: { ...booking.customer, language: undefined } } as unknown as Booking;
    const { mailer, run } = setup(legacy);
    await run('booking.confirmed', legacy, {});
    expect(mailer.sent[0]?.subject).toBe('Ihre Buchung ist bestätigt: Inspektion');
    expect(mailer.sent[0]?.language).toBe('de');
  });

  it('formats the slot in Berlin local time across the summer-time change', () => {
    // 06:00Z in July is 08:00 in Berlin (CEST, UTC+2).
    expect(formatSlot('2026-07-14T06:00:00Z', '2026-07-14T08:30:00Z', 'de')).toBe('Dienstag, 14. Juli 2026, 08:00–10:30 Uhr');
    expect(formatSlot('2026-07-14T06:00:00Z', '2026-07-14T08:30:00Z', 'en')).toBe('Tuesday, 14 July 2026, 08:00–10:30 (Berlin time)');
  });

  it('escapes what people typed in the HTML part', async () => {
    const booking = bookingIn('CONFIRMED', 'de', {
      customer: { name: 'Eve <script>x()</script>', email: 'eve@example.com', phone: '+491711234567', language: 'de' },
      vehicle: { brand: 'Rolls & <b>Royce</b>', model: 'Ghost' },
    });
    const { mailer, run } = setup(booking);
    await run('booking.confirmed', booking, {});
    expect(mailer.sent[0]?.html).toContain('Eve &lt;script&gt;x()&lt;/script&gt;');
    expect(mailer.sent[0]?.html).toContain('Rolls &amp; &lt;b&gt;Royce&lt;/b&gt; Ghost');
    expect(mailer.sent[0]?.html).not.toMatch(/<script>|<b>/);
    // The plain text is not HTML: it shows what was typed.
    expect(mailer.sent[0]?.text).toContain('Rolls & <b>Royce</b> Ghost');
  });

  it('still sends when the catalogue no longer lists the service, naming it by its code', async () => {
    const booking = bookingIn('CONFIRMED', 'de', { serviceType: 'ac-service' });
    const { mailer, run } = setup(booking);
    await run('booking.confirmed', booking, {});
    expect(mailer.sent[0]?.subject).toBe('Ihre Buchung ist bestätigt: ac-service');
  });

  describe('stale jobs complete without a mail', () => {
    const stale: [string, Booking, NotificationType, Record<string, unknown>][] = [
      ['confirmed, but the booking is now CANCELLED', bookingIn('CANCELLED'), 'booking.confirmed', {}],
      ['confirmed, but the car is already picked up', bookingIn('IN_WORKSHOP'), 'booking.confirmed', {}],
      ['cancelled, but the booking is not cancelled', bookingIn('CONFIRMED'), 'booking.cancelled', { refunded: false }],
      [
        'finding added, but the customer already approved it',
        bookingIn('IN_WORKSHOP', 'de', { findings: [finding('f-1', 'APPROVED', 'Bremsen', 8900)] }),
        'finding.added',
        { findingId: 'f-1' },
      ],
      ['finding added, but the car has left the workshop', bookingIn('READY_FOR_DELIVERY'), 'finding.added', { findingId: 'f-1' }],
      [
        'requires action, but the payment went through',
        bookingIn('IN_WORKSHOP', 'de', { findings: [finding('f-2', 'PAID', 'Wischer', 3450)] }),
        'finding.requires-action',
        { findingId: 'f-2' },
      ],
      ['pick-up driver assigned, but the car is already picked up', bookingIn('IN_WORKSHOP'), 'trip.assigned', { leg: 'pickup' }],
      ['pick-up driver assigned, but the booking is cancelled', bookingIn('CANCELLED'), 'trip.assigned', { leg: 'pickup' }],
      ['delivery driver assigned, but the car is delivered', bookingIn('DELIVERED'), 'trip.assigned', { leg: 'delivery' }],
      ['picked up, but the car is already back', bookingIn('DELIVERED'), 'trip.pickup-completed', {}],
      ['delivered, but the booking says otherwise', bookingIn('READY_FOR_DELIVERY'), 'trip.delivered', {}],
    ];

    it.each(stale)('%s', async (_name, booking, type, payload) => {
      const { mailer, repository, handlers } = setup(booking);
      // The handler completes (no throw, so no retry) without sending anything.
      await expect(handlers[type](envelopeOf(notificationJob(type, booking, payload as never)))).resolves.toBeUndefined();
      expect(repository.reads).toEqual([booking.id]);
      expect(mailer.sent).toEqual([]);
    });

    it('tells the log why nothing was sent', async () => {
      const booking = bookingIn('CANCELLED');
      const mailer = new MemoryMailer();
      const repository = new MemoryBookings();
      repository.put(booking);
      const logged: [string, Record<string, unknown> | undefined][] = [];
      const handlers = notificationHandlers({ mailer, bookings: repository, catalogue: DEFAULT_CATALOGUE, log: { info: (m, d) => void logged.push([m, d]) } });
      await handlers['booking.confirmed'](envelopeOf(notificationJob('booking.confirmed', booking, {})));
      expect(logged).toEqual([[expect.any(String), expect.objectContaining({ type: 'booking.confirmed', reason: 'booking is CANCELLED' })]]);
    });
  });

  describe('failures', () => {
    const permanent = (code: string) => expect.objectContaining({ name: 'JobError', kind: 'permanent', code });

    it('fails permanently when the booking does not exist', async () => {
      const { mailer, run } = setup();
      const failure = run('booking.confirmed', { id: 'bk-missing' }, {});
      await expect(failure).rejects.toBeInstanceOf(JobError);
      await expect(failure).rejects.toEqual(permanent('BOOKING_NOT_FOUND'));
      expect(mailer.sent).toEqual([]);
    });

    it('fails permanently when the finding does not exist', async () => {
      const booking = bookingIn('IN_WORKSHOP');
      const { mailer, run } = setup(booking);
      await expect(run('finding.added', booking, { findingId: 'f-404' })).rejects.toEqual(permanent('FINDING_NOT_FOUND'));
      expect(mailer.sent).toEqual([]);
    });

    it.each([
      ['booking.cancelled', { refunded: 'yes' }],
      ['booking.cancelled', {}],
      ['finding.added', {}],
      ['finding.requires-action', { findingId: '' }],
      ['trip.assigned', { leg: 'workshop' }],
      ['booking.confirmed', null],
      ['trip.delivered', 'delivered'],
    ] as const)('fails permanently on an invalid %s payload %j', async (type, payload) => {
      const booking = bookingIn('CANCELLED');
      const { mailer, repository, handlers } = setup(booking);
      const job: JobEnvelope = { ...envelopeOf({ queue: QUEUES.notifications, type, subject: booking.id, payload }), id: `notify:${type}:${booking.id}` };
      await expect(handlers[type](job)).rejects.toEqual(permanent('INVALID_PAYLOAD'));
      expect(mailer.sent).toEqual([]);
      expect(repository.reads).toEqual([]);
    });

    it('lets mailer errors through unchanged, so the consumer retries or dead-letters them', async () => {
      const booking = bookingIn('CONFIRMED');
      const { mailer, run } = setup(booking);
      const refused = JobError.transient('smtp_unavailable', 'connection refused');
      mailer.failWith = refused;
      await expect(run('booking.confirmed', booking, {})).rejects.toBe(refused);
    });
  });

  it('sends the same key when a job is delivered twice, so the receiver keeps one mail', async () => {
    const booking = bookingIn('CONFIRMED');
    const { mailer, handlers } = setup(booking);
    const job = envelopeOf(notificationJob('booking.confirmed', booking, {}));
    await handlers['booking.confirmed'](job);
    await handlers['booking.confirmed']({ ...job, attempt: 2 });
    expect(mailer.sent.map((mail) => mail.key)).toEqual(['notify:booking.confirmed:bk-7f3a', 'notify:booking.confirmed:bk-7f3a']);
    expect(mailer.sent[0]).toEqual(mailer.sent[1]);
  });
});
