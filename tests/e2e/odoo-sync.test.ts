// The Odoo sync end to end, once per transport (ODOO_API=xmlrpc, ODOO_API=json2): bookings over HTTP
// against the local host, paid through the Stripe sandbox with the real stripe SDK, the worker
// consuming `odoo-sync` and talking to the Odoo sandbox over the chosen API, and the sandbox read
// back over XML-RPC the way an accountant's script would (authenticate, then execute_kw search_read).
import { randomUUID } from 'node:crypto';
import type Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OdooSandbox } from '../../local/odoo-sandbox';
import { FREE_PORTS, type LocalRuntime, startLocalRuntime } from '../../local/runtime';
import { ODOO_APIS, type OdooApi } from '../../shared/adapters/odoo/odoo-transport';
import { TableProcessedJobs } from '../../shared/adapters/table-storage/processed-jobs';
import { type JobEnvelope, newEnvelope } from '../../shared/platform/jobs';
import {
  api,
  type CreatedBooking,
  createBooking,
  getBooking,
  moveToWorkshop,
  peekJobs,
  RecordingSender,
  startBookingRuntime,
  stripeClient,
} from '../support/bookings';
import { type OdooMove, type OdooPartner, OdooReader } from '../support/odoo-reader';
import { waitFor } from '../support/wait';

const QUEUE = 'odoo-sync';
/** Retry policy of the main runtime: delays of [100,200], [200,400], [400,800], [800,1600] ms. */
const RETRY = { baseMs: 200, maxAttempts: 5 };
/**
 * A retry's delay is measured from its failure's `at` to its `notBefore`: two clock reads a few
 * synchronous statements apart in consume-job, which a busy machine may stretch a little.
 */
const CLOCK_READS_SLACK_MS = 50;

const berlinToday = () => new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/Berlin' }).format(new Date());

// ---- The runtime's side.

interface DeadLetterItem {
  id: string;
  type: string;
  subject: string;
  jobId: string;
  reason: string;
  description: string;
  attempts: number;
  errors: Array<{ attempt: number; at: string; kind: string; code: string; message: string }>;
}

async function deadLetters(runtime: LocalRuntime, subject: string): Promise<DeadLetterItem[]> {
  const response = await api(runtime, 'GET', `/v1/admin/dead-letters/${QUEUE}`, { token: runtime.apiKeys.admin });
  expect(response.status).toBe(200);
  return (response.body.items as DeadLetterItem[]).filter((item) => item.subject === subject);
}

async function book(runtime: LocalRuntime, stripe: Stripe, overrides: Record<string, unknown> = {}): Promise<CreatedBooking> {
  const booking = await createBooking(runtime, overrides);
  await stripe.paymentIntents.confirm(booking.paymentIntentId, { payment_method: 'pm_card_visa' });
  return booking;
}

async function confirmed(runtime: LocalRuntime, booking: CreatedBooking): Promise<void> {
  await waitFor(async () => (await getBooking(runtime, booking)).status === 'CONFIRMED', { message: `booking ${booking.id} not CONFIRMED` });
}

describe.each(ODOO_APIS)('Odoo sync end to end over %s (local host, Stripe and Odoo sandboxes)', (odooApi: OdooApi) => {
  let runtime: LocalRuntime;
  let odoo: OdooSandbox;
  let stripe: Stripe;
  let reader: OdooReader;
  let recorder: RecordingSender;
  let processed: TableProcessedJobs;
  const startedAt = new Date();

  /** The booking of the first test, synced once; later tests send its job again. */
  let first: CreatedBooking;

  const syncJobs = (bookingId: string) => recorder.jobs(bookingId, QUEUE);
  /**
   * The delays the consumer scheduled for the booking's retries (load cannot change these): equal
   * jitter on RETRY.baseMs * 2^(n-1) after failed attempt n, i.e. within [half, whole] of 200, 400, 800, 1600 ms.
   */
  const expectBackoff = (bookingId: string, attempts: number[]) => {
    const retries = recorder.sent.filter((sent) => sent.queue === QUEUE && sent.envelope.subject === bookingId && sent.envelope.attempt > 1);
    expect(retries.map((sent) => sent.envelope.attempt)).toEqual(attempts);
    for (const { envelope, notBefore } of retries) {
      const exponential = RETRY.baseMs * 2 ** (envelope.attempt - 2);
      const delayMs = (notBefore?.getTime() ?? Number.NaN) - Date.parse(envelope.errors.at(-1)?.at ?? '');
      expect(delayMs, `delay before attempt ${envelope.attempt}`).toBeGreaterThanOrEqual(exponential / 2);
      expect(delayMs, `delay before attempt ${envelope.attempt}`).toBeLessThanOrEqual(exponential + CLOCK_READS_SLACK_MS);
    }
  };
  const wasProcessed = (jobId: string) => processed.has(`${QUEUE}:${jobId}`);
  const sendSync = (envelopes: JobEnvelope[]) => runtime.composition.services.sender.send(envelopes.map((envelope) => ({ queue: QUEUE, envelope })));
  const freshSyncJob = (bookingId: string) =>
    newEnvelope({ queue: QUEUE, type: 'booking.sync', subject: bookingId, payload: { bookingId, reason: 'test' } }, new Date(), randomUUID);
  /** Waits until the booking's invoice is posted and paid (the sync ran to the end). */
  const paidInvoice = async (ref: string): Promise<OdooMove> => {
    let invoice: OdooMove | undefined;
    await waitFor(
      async () => {
        invoice = (await reader.invoices(ref)).find((candidate) => candidate.payment_state === 'paid');
        return invoice !== undefined;
      },
      { message: `no paid invoice for ${ref}` },
    );
    return invoice as OdooMove;
  };
  /** Everything Odoo holds about one booking, write dates included: a repeat must not touch it. */
  const snapshot = (booking: CreatedBooking) => ({
    partners: odoo.records('res.partner').filter((partner) => partner.email === booking.email),
    moves: odoo.records('account.move').filter((move) => move.ref === booking.id),
    payments: odoo.records('account.payment').filter((payment) => payment.memo === booking.paymentIntentId),
  });

  beforeAll(async () => {
    runtime = await startBookingRuntime(
      {
        ODOO_SANDBOX: 'on',
        ODOO_API: odooApi,
        TABLE_PREFIX: `odoosync${odooApi}`,
        JOB_RETRY_BASE_MS: String(RETRY.baseMs),
        JOB_RETRY_CAP_MS: '5000',
        JOB_MAX_ATTEMPTS: String(RETRY.maxAttempts),
      },
      { wrapSender: (sender) => (recorder = new RecordingSender(sender)) },
    );
    if (!runtime.odoo) throw new Error('the runtime runs no Odoo sandbox');
    odoo = runtime.odoo;
    stripe = stripeClient(runtime);
    reader = await OdooReader.login(odoo.url);
    processed = new TableProcessedJobs(runtime.composition.services.tables.client('ProcessedJobs'));
  });

  afterAll(async () => {
    await runtime?.stop();
  });

  it('a paid booking: one partner, one posted and paid invoice billing the service, one payment with the PaymentIntent id', async () => {
    const callsBefore = odoo.calls(odooApi);
    first = await book(runtime, stripe);
    const invoice = await paidInvoice(first.id);

    const partners = await reader.partners(first.email);
    expect(partners).toEqual([{ id: expect.any(Number), name: 'Erika Mustermann', email: first.email, ref: expect.stringMatching(/^cust:[0-9a-f]{32}$/) }]);
    const partner = partners[0] as OdooPartner;

    expect(await reader.invoices(first.id)).toEqual([invoice]);
    expect(invoice).toMatchObject({
      move_type: 'out_invoice',
      state: 'posted',
      ref: first.id,
      partner_id: [partner.id, 'Erika Mustermann'],
      amount_total: 149,
      amount_residual: 0,
      payment_state: 'paid',
      invoice_date: berlinToday(),
      reversed_entry_id: false,
    });
    expect(invoice.name).toMatch(/^INV\/\d{4}\/\d+$/);
    expect(await reader.lines(invoice.id)).toEqual([
      expect.objectContaining({ name: 'Inspektion - VW Golf', quantity: 1, price_unit: 149, price_subtotal: 149 }),
    ]);

    const payments = await reader.payments(first.paymentIntentId);
    expect(payments).toEqual([
      {
        id: expect.any(Number),
        memo: first.paymentIntentId,
        ref: first.paymentIntentId,
        amount: 149,
        state: 'posted',
        payment_type: 'inbound',
        partner_id: [partner.id, 'Erika Mustermann'],
        reconciled_invoice_ids: [invoice.id],
      },
    ]);
    // Stripe took what Odoo bills.
    expect((await stripe.paymentIntents.retrieve(first.paymentIntentId)).amount_received).toBe(14900);

    // One sync job for the payment, processed once; the sync talked to Odoo over the chosen API.
    const jobs = syncJobs(first.id);
    expect(jobs.map((job) => [job.type, job.attempt])).toEqual([['booking.sync', 1]]);
    await waitFor(() => wasProcessed(jobs[0]?.id as string));
    expect(odoo.calls(odooApi) - callsBefore).toBeGreaterThan(5);
  });

  it('the same job delivered three more times (same id, then new ids) and two jobs at once change nothing', async () => {
    const original = syncJobs(first.id)[0] as JobEnvelope;
    const before = snapshot(first);
    expect(before).toMatchObject({ partners: [expect.anything()], moves: [expect.anything()], payments: [expect.anything()] });

    // Same id: the processed-jobs check answers; Odoo is not even asked.
    const calls = odoo.calls();
    await sendSync([original, original, original].map((job) => ({ ...job, attempt: 1 })));
    await waitFor(async () => (await peekJobs(runtime, QUEUE, first.id)).length === 0);
    expect(odoo.calls() - calls).toBe(0);

    // New ids (another version of the booking, a replay with a fresh id): each runs, finds everything, writes nothing.
    const copies = [1, 2, 3].map(() => ({ ...original, id: randomUUID() }));
    await sendSync(copies);
    await waitFor(async () => (await Promise.all(copies.map((copy) => wasProcessed(copy.id)))).every(Boolean));
    // A repeat only looks: one read (the invoices by ref) per run.
    expect(odoo.calls() - calls).toBe(3);
    expect(snapshot(first)).toEqual(before);

    // Two jobs for a booking at once, racing the payment's own sync (Odoo slowed so they overlap).
    odoo.setLatency(20);
    try {
      const second = await book(runtime, stripe);
      await confirmed(runtime, second);
      await waitFor(() => syncJobs(second.id).length === 1);
      const racing = [freshSyncJob(second.id), freshSyncJob(second.id)];
      await sendSync(racing);
      const all = [...syncJobs(second.id).filter((job) => !racing.includes(job)), ...racing];
      expect(all).toHaveLength(3);
      await waitFor(async () => (await Promise.all(all.map((job) => wasProcessed(job.id)))).every(Boolean), { timeoutMs: 15_000 });
      const invoices = await reader.invoices(second.id);
      expect(invoices).toEqual([expect.objectContaining({ state: 'posted', payment_state: 'paid', amount_total: 149 })]);
      expect(await reader.partners(second.email)).toHaveLength(1);
      expect(await reader.payments(second.paymentIntentId)).toEqual([expect.objectContaining({ amount: 149, reconciled_invoice_ids: [invoices[0]?.id] })]);
    } finally {
      odoo.reset();
    }
  });

  it('a customer with two bookings (e-mail in another case): one partner, two invoices', async () => {
    const email = `max.${randomUUID().slice(0, 8)}@example.de`;
    const customer = (address: string) => ({ customer: { name: 'Max Mustermann', email: address, phone: '+49 171 7654321' } });
    const one = await book(runtime, stripe, customer(email));
    await paidInvoice(one.id);
    const two = await book(runtime, stripe, { ...customer(email.toUpperCase()), serviceType: 'oil-change', vehicle: { brand: 'BMW', model: '320d' } });
    await paidInvoice(two.id);

    const partners = await reader.partners(email);
    expect(partners).toEqual([expect.objectContaining({ name: 'Max Mustermann', email })]);
    const partnerId = (partners[0] as OdooPartner).id;
    const invoices = await reader.invoicesOf(partnerId);
    expect(invoices.map((invoice) => [invoice.ref, invoice.amount_total, invoice.state, invoice.payment_state])).toEqual([
      [one.id, 149, 'posted', 'paid'],
      [two.id, 89, 'posted', 'paid'],
    ]);
    expect((await reader.lines(invoices[1]?.id as number)).map((line) => line.name)).toEqual(['Ölwechsel - BMW 320d']);
  });

  it('Odoo down for a while: retried with growing delays, synced once after it is back', async () => {
    odoo.failFor(60_000, 'http500');
    try {
      const calls = odoo.calls();
      const booking = await book(runtime, stripe);
      // Four failed attempts (the fifth and last is scheduled), then Odoo recovers.
      const retried = () => syncJobs(booking.id).find((job) => job.errors.length === 4);
      await waitFor(() => retried() !== undefined, { timeoutMs: 10_000, intervalMs: 20 });
      const failedCalls = odoo.calls() - calls;
      odoo.reset();
      const invoice = await paidInvoice(booking.id);

      const errors = retried()?.errors ?? [];
      expect(errors.map((error) => [error.attempt, error.kind, error.code])).toEqual([1, 2, 3, 4].map((attempt) => [attempt, 'transient', 'ODOO_UNAVAILABLE']));
      expect(errors[0]?.message).toMatch(/^Odoo at http:\/\/127\.0\.0\.1:\d+ answered HTTP 500 to /);
      const times = errors.map((error) => Date.parse(error.at));
      const gaps = times.slice(1).map((time, i) => time - (times[i] as number));
      // Equal jitter on base 200 ms: [100,200], [200,400], [400,800] ms, plus delivery.
      expect(gaps[0]).toBeGreaterThanOrEqual(95);
      expect(gaps[1]).toBeGreaterThanOrEqual(195);
      expect(gaps[2]).toBeGreaterThanOrEqual(395);
      expectBackoff(booking.id, [2, 3, 4, 5]);
      // Each attempt asked Odoo once and stopped at its failure (no retry loop inside the handler).
      expect(failedCalls).toBe(4);

      expect(syncJobs(booking.id).map((job) => job.attempt)).toEqual([1, 2, 3, 4, 5]);
      expect(await reader.invoices(booking.id)).toEqual([invoice]);
      expect(await reader.payments(booking.paymentIntentId)).toEqual([expect.objectContaining({ amount: 149, reconciled_invoice_ids: [invoice.id] })]);
      expect(await reader.partners(booking.email)).toHaveLength(1);
      expect(await deadLetters(runtime, booking.id)).toEqual([]);
    } finally {
      odoo.reset();
    }
  });

  it('Odoo down past the last attempt: dead-lettered with every attempt’s error; replayed after recovery, synced once', async () => {
    odoo.failFor(60_000, 'disconnect');
    let letter: DeadLetterItem | undefined;
    let booking: CreatedBooking;
    let failedCalls: number;
    try {
      const calls = odoo.calls();
      booking = await book(runtime, stripe);
      await waitFor(
        async () => {
          letter = (await deadLetters(runtime, booking.id))[0];
          return letter !== undefined;
        },
        { timeoutMs: 10_000, message: 'the sync job was not dead-lettered' },
      );
      failedCalls = odoo.calls() - calls;
    } finally {
      odoo.reset();
    }
    // Per attempt: the first read, sent once more at once because the connection dropped; then the attempt fails.
    expect(failedCalls).toBe(2 * RETRY.maxAttempts);
    expect(letter).toMatchObject({ type: 'booking.sync', reason: 'MaxAttemptsExceeded', attempts: RETRY.maxAttempts });
    expect(letter?.description).toMatch(/^attempt 5: ODOO_UNAVAILABLE: Odoo at http:\/\/127\.0\.0\.1:\d+ is unreachable during /);
    expect(letter?.errors.map((error) => [error.attempt, error.kind, error.code])).toEqual(
      [1, 2, 3, 4, 5].map((attempt) => [attempt, 'transient', 'ODOO_UNAVAILABLE']),
    );
    const times = letter?.errors.map((error) => Date.parse(error.at)) ?? [];
    const gaps = times.slice(1).map((time, i) => time - (times[i] as number));
    expect(gaps[3]).toBeGreaterThanOrEqual(795);
    expectBackoff(booking.id, [2, 3, 4, 5]);
    expect(await reader.invoices(booking.id)).toEqual([]);

    const replay = await api(runtime, 'POST', `/v1/admin/dead-letters/${QUEUE}/${encodeURIComponent(letter?.id as string)}/replay`, {
      token: runtime.apiKeys.admin,
    });
    expect(replay.status).toBe(200);
    const invoice = await paidInvoice(booking.id);
    expect(invoice).toMatchObject({ state: 'posted', amount_total: 149, amount_residual: 0 });
    expect(await reader.payments(booking.paymentIntentId)).toEqual([expect.objectContaining({ amount: 149, reconciled_invoice_ids: [invoice.id] })]);
    await waitFor(() => wasProcessed(letter?.jobId as string));
    expect(await reader.invoices(booking.id)).toEqual([invoice]);
    expect(await deadLetters(runtime, booking.id)).toEqual([]);
    const again = await api(runtime, 'POST', `/v1/admin/dead-letters/${QUEUE}/${encodeURIComponent(letter?.id as string)}/replay`, {
      token: runtime.apiKeys.admin,
    });
    expect(again.status).toBe(404);
  });

  it('an admin dead-letters a sync on purpose through the sandbox’s fault switch, then replays it and reads the audit', async () => {
    // What the npm start banner shows: a refusal Odoo answers to the next call is not retried.
    const armed = await fetch(`${odoo.url}/sandbox/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ count: 1, kind: 'validation' }),
    });
    expect(armed.status).toBe(200);
    const booking = await book(runtime, stripe);
    let letter: DeadLetterItem | undefined;
    await waitFor(
      async () => {
        letter = (await deadLetters(runtime, booking.id))[0];
        return letter !== undefined;
      },
      { timeoutMs: 10_000, message: 'the sync job was not dead-lettered' },
    );
    expect(letter).toMatchObject({ reason: 'PermanentError', attempts: 1 });
    expect(letter?.errors).toEqual([expect.objectContaining({ attempt: 1, kind: 'permanent' })]);
    expect(((await (await fetch(`${odoo.url}/sandbox/faults`)).json()) as { next: string[] }).next).toEqual([]);

    const replay = await api(runtime, 'POST', `/v1/admin/dead-letters/${QUEUE}/${encodeURIComponent(letter?.id as string)}/replay`, {
      token: runtime.apiKeys.admin,
    });
    expect(replay.status).toBe(200);
    await paidInvoice(booking.id);
    const audit = await api(runtime, 'GET', `/v1/admin/audit?queue=${QUEUE}&limit=1`, { token: runtime.apiKeys.admin });
    expect((audit.body as { items: unknown[] }).items).toEqual([
      expect.objectContaining({ action: 'replay', jobId: letter?.jobId, subject: booking.id, actor: expect.any(String) }),
    ]);
  });

  it('an approved finding gets its own posted invoice and payment; a cancellation after payment a credit note', async () => {
    // The finding.
    const booking = await book(runtime, stripe);
    const bookingInvoice = await paidInvoice(booking.id);
    await moveToWorkshop(runtime, booking.id);
    const added = await api(runtime, 'POST', `/v1/bookings/${booking.id}/findings`, {
      token: runtime.apiKeys.workshop,
      body: { description: 'Bremsbeläge vorne verschlissen', priceCents: 8900 },
    });
    expect(added.status).toBe(201);
    const findingId = added.body.id as string;
    const approved = await api(runtime, 'POST', `/v1/bookings/${booking.id}/findings/${findingId}/approve`, { token: booking.accessToken });
    expect(approved.body).toMatchObject({ id: findingId, status: 'PAID' });
    const findingIntent = (await stripe.paymentIntents.list({ limit: 100 })).data.find((intent) => intent.metadata.findingId === findingId);
    expect(findingIntent).toMatchObject({ status: 'succeeded', amount: 8900 });

    const findingInvoice = await paidInvoice(findingId);
    const partnerId = (bookingInvoice.partner_id as [number, string])[0];
    expect(findingInvoice).toMatchObject({
      state: 'posted',
      ref: findingId,
      amount_total: 89,
      amount_residual: 0,
      partner_id: [partnerId, 'Erika Mustermann'],
    });
    expect((await reader.lines(findingInvoice.id)).map((line) => [line.name, line.price_unit])).toEqual([['Bremsbeläge vorne verschlissen', 89]]);
    expect(await reader.payments(findingIntent?.id as string)).toEqual([expect.objectContaining({ amount: 89, reconciled_invoice_ids: [findingInvoice.id] })]);
    // The booking's own invoice and payment are untouched: two invoices, two payments for this customer.
    expect((await reader.invoicesOf(partnerId)).map((invoice) => invoice.ref)).toEqual([booking.id, findingId]);
    expect(await reader.payments(booking.paymentIntentId)).toHaveLength(1);

    // The cancellation after payment.
    const cancelled = await book(runtime, stripe);
    const invoice = await paidInvoice(cancelled.id);
    const cancel = await api(runtime, 'POST', `/v1/bookings/${cancelled.id}/cancel`, { token: cancelled.accessToken });
    expect(cancel.status).toBe(200);
    expect((await getBooking(runtime, cancelled)).payment.status).toBe('refunded');
    let notes: OdooMove[] = [];
    await waitFor(async () => {
      notes = await reader.creditNotesFor(invoice.id);
      return notes.some((note) => note.state === 'posted' && note.amount_residual === 0);
    });
    expect(notes).toEqual([
      expect.objectContaining({
        move_type: 'out_refund',
        state: 'posted',
        reversed_entry_id: [invoice.id, invoice.name],
        partner_id: invoice.partner_id,
        amount_total: 149,
        ref: `Reversal of: ${invoice.name}, Buchung ${cancelled.id} storniert`,
        amount_residual: 0,
      }),
    ]);
    // The money that went back is registered against the credit note, once.
    expect(await reader.payments(`refund:${cancelled.paymentIntentId}`)).toEqual([
      expect.objectContaining({ amount: 149, payment_type: 'outbound', reconciled_invoice_ids: [notes[0]?.id] }),
    ]);
    // Still one invoice and one payment for the booking.
    expect(await reader.invoices(cancelled.id)).toEqual([expect.objectContaining({ id: invoice.id, state: 'posted' })]);
    expect(await reader.payments(cancelled.paymentIntentId)).toHaveLength(1);
  });

  it('health shows Odoo as the sandbox, the API it is reached over, and the time of the last sync', async () => {
    const response = await api(runtime, 'GET', '/health');
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({
      status: 'ok',
      integrations: { odoo: 'sandbox' },
      transports: { odoo: odooApi },
      lastSync: { odoo: expect.any(String) },
    });
    expect(response.body.reasons).toBeUndefined();
    const lastSync = Date.parse(response.body.lastSync.odoo);
    expect(lastSync).toBeGreaterThanOrEqual(startedAt.getTime());
  });
});

/** What each transport says when Odoo refuses the configured credentials. */
const REFUSED: Record<OdooApi, string> = {
  xmlrpc: 'Odoo rejected the credentials for user admin on database sandbox (check ODOO_USERNAME / ODOO_PASSWORD)',
  json2: 'Odoo rejected the API key for database sandbox (check ODOO_PASSWORD: with ODOO_API=json2 it holds an API key of the integration user)',
};

describe.each(ODOO_APIS)('Odoo sync with wrong credentials over %s', (odooApi: OdooApi) => {
  let odoo: OdooSandbox;
  let runtime: LocalRuntime;
  const errors: string[] = [];
  let callsAtStart: number;

  beforeAll(async () => {
    odoo = await OdooSandbox.start({ port: 0, logFile: false });
    // As startBookingRuntime does, with a logger that keeps what start-up reported.
    runtime = await startLocalRuntime({
      ports: FREE_PORTS,
      env: {
        RATE_LIMIT_PER_KEY: '100000',
        BOOKING_RATE_LIMIT_PER_IP: '100000',
        DRIVER_APP_MANUAL: 'true',
        ODOO_SANDBOX: 'on',
        ODOO_API: odooApi,
        ODOO_URL: odoo.url,
        ODOO_DB: 'sandbox',
        ODOO_USERNAME: 'admin',
        ODOO_PASSWORD: 'wrong',
        JOB_RETRY_BASE_MS: '200',
        JOB_MAX_ATTEMPTS: '5',
      },
      timers: false,
      log: { info: () => undefined, warn: () => undefined, error: (message) => errors.push(message) },
      stripeRetryDelaysMs: [50, 100],
    });
    callsAtStart = odoo.calls();
  });

  afterAll(async () => {
    await runtime?.stop();
    await odoo?.stop();
  });

  it('says at start-up that the chosen API refuses the credentials, and starts anyway', () => {
    const api = odooApi === 'xmlrpc' ? 'XML-RPC' : 'JSON-2';
    expect(errors).toContain(`Odoo does not answer over ${api} (ODOO_API=${odooApi}): ${REFUSED[odooApi]}`);
    // One call at start-up, over the chosen API: the login (XML-RPC) or the first keyed call (JSON-2).
    expect([odoo.calls('xmlrpc'), odoo.calls('json2')]).toEqual(odooApi === 'xmlrpc' ? [1, 0] : [0, 1]);
    expect(errors.join('\n')).not.toContain('wrong');
  });

  it('dead-letters the sync at its first attempt, saying which credentials Odoo refused', async () => {
    expect(runtime.odoo).toBeUndefined();
    const stripe = stripeClient(runtime);
    const booking = await book(runtime, stripe);
    let letter: DeadLetterItem | undefined;
    await waitFor(async () => {
      letter = (await deadLetters(runtime, booking.id))[0];
      return letter !== undefined;
    });
    const message = REFUSED[odooApi];
    expect(letter).toMatchObject({ type: 'booking.sync', reason: 'PermanentError', attempts: 1, description: `attempt 1: ODOO_BAD_CREDENTIALS: ${message}` });
    expect(letter?.errors).toEqual([{ attempt: 1, at: expect.any(String), kind: 'permanent', code: 'ODOO_BAD_CREDENTIALS', message }]);
    // One call: the login (XML-RPC) or the first look-up (JSON-2) Odoo refused. Nothing was written.
    expect(odoo.calls() - callsAtStart).toBe(1);
    expect(odoo.records('account.move')).toEqual([]);
    expect(odoo.records('res.partner').filter((partner) => partner.email === booking.email)).toEqual([]);

    const health = await api(runtime, 'GET', '/health');
    // Health checks the credentials itself (start-up's answer, reused): Odoo is unavailable, and says why.
    expect(health.body).toMatchObject({
      integrations: { odoo: 'unavailable' },
      reasons: { odoo: message },
      transports: { odoo: odooApi },
      lastSync: { odoo: null },
    });
  });
});
