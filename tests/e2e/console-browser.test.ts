// The operations console in headless Chromium (playwright-core, Debian's chromium: no browser is
// downloaded) against the local runtime with the Odoo sandbox: sign-in, a dead letter caused through
// the sandbox's fault switch inspected and replayed by keyboard, another discarded with a reason that
// the audit shows, support without change buttons, markup shown as text, a 375 px screen, and no
// Content-Security-Policy violation anywhere.
import { existsSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import type Stripe from 'stripe';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { LocalRuntime } from '../../local/runtime';
import { newEnvelope } from '../../shared/platform/jobs';
import { api, createBooking, startBookingRuntime, stripeClient } from '../support/bookings';
import { createOrder } from '../support/orders';
import { waitFor } from '../support/wait';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const QUEUE = 'odoo-sync';

/** What a page did that it must not: CSP violations, console errors, uncaught errors, dialogs. */
interface Trouble {
  violations: string[];
  errors: string[];
  dialogs: string[];
}

// Outside CI a machine without Chromium skips these tests and says why; in CI (CI=true) a missing
// Chromium fails the run (.ci/run installs it).
const missingChromium = !existsSync(CHROMIUM) && process.env.CI !== 'true';

describe.skipIf(missingChromium)(
  `the operations console in a browser (headless Chromium, local runtime, Odoo sandbox)${missingChromium ? ` (skipped: no Chromium at ${CHROMIUM}; apt-get install -y chromium, or set CHROMIUM_PATH)` : ''}`,
  () => {
    let runtime: LocalRuntime;
    let stripe: Stripe;
    let browser: Browser;
    const contexts: BrowserContext[] = [];
    const troubles: Trouble[] = [];

    beforeAll(async () => {
      if (!existsSync(CHROMIUM)) {
        throw new Error(
          `no Chromium at ${CHROMIUM}: the console's browser tests need one (Debian: apt-get install -y chromium; or set CHROMIUM_PATH). Nothing is downloaded.`,
        );
      }
      [runtime, browser] = await Promise.all([
        startBookingRuntime({ ODOO_SANDBOX: 'on', TABLE_PREFIX: 'consolebrowser', JOB_RETRY_BASE_MS: '100', JOB_MAX_ATTEMPTS: '3' }),
        chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-dev-shm-usage'] }),
      ]);
      stripe = stripeClient(runtime);
    }, 60_000);

    afterAll(async () => {
      await Promise.allSettled(contexts.map((context) => context.close()));
      await browser?.close();
      await runtime?.stop();
    });

    afterEach(() => {
      // Every page of the test loaded and worked without tripping the policy, logging an error or opening a dialog.
      for (const trouble of troubles.splice(0)) expect(trouble).toEqual({ violations: [], errors: [], dialogs: [] });
    });

    /** A fresh tab (own sessionStorage) that records its trouble. */
    async function open(viewport = { width: 1280, height: 900 }): Promise<Page> {
      const context = await browser.newContext({ viewport });
      contexts.push(context);
      const page = await context.newPage();
      const trouble: Trouble = { violations: [], errors: [], dialogs: [] };
      troubles.push(trouble);
      await page.exposeFunction('reportViolation', (text: string) => trouble.violations.push(text));
      await page.addInitScript(() => {
        const page = globalThis as any;
        page.document.addEventListener('securitypolicyviolation', (event: any) => page.reportViolation(`${event.violatedDirective} ${event.blockedURI}`));
      });
      page.on('console', (message) => {
        if (message.type() === 'error') trouble.errors.push(message.text());
      });
      page.on('pageerror', (error) => trouble.errors.push(String(error)));
      page.on('dialog', (dialog) => {
        trouble.dialogs.push(dialog.message());
        void dialog.dismiss();
      });
      return page;
    }

    async function signIn(page: Page, key: string, hash = ''): Promise<void> {
      await page.goto(`${runtime.url}/console${hash}`);
      await page.getByLabel('API key').fill(key);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('button', { name: 'Sign out' }).waitFor();
    }

    /** Books and pays with the Odoo sandbox armed to refuse the next call: the sync is dead-lettered at once. */
    async function deadLetteredSync(): Promise<{ bookingId: string; messageId: string }> {
      const armed = await fetch(`${runtime.odoo?.url}/sandbox/faults`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ count: 1, kind: 'validation' }),
      });
      expect(armed.status).toBe(200);
      const booking = await createBooking(runtime);
      await stripe.paymentIntents.confirm(booking.paymentIntentId, { payment_method: 'pm_card_visa' });
      let messageId = '';
      await waitFor(
        async () => {
          const listed = await api(runtime, 'GET', `/v1/admin/dead-letters/${QUEUE}?subject=${booking.id}`, { token: runtime.apiKeys.admin });
          messageId = listed.body.items[0]?.id ?? '';
          return messageId !== '';
        },
        { timeoutMs: 15_000, message: 'the sync was not dead-lettered' },
      );
      return { bookingId: booking.id, messageId };
    }

    const stillDeadLettered = async (subject: string) =>
      (await api(runtime, 'GET', `/v1/admin/dead-letters/${QUEUE}?subject=${subject}`, { token: runtime.apiKeys.admin })).body.items.length;

    it('notices a policy violation when there is one (the check of every test can fail)', async () => {
      const page = await open();
      await page.goto(`${runtime.url}/console`);
      await page.getByLabel('API key').waitFor();
      // An inline style element: `style-src 'self'` refuses it.
      await page.evaluate(() => {
        const { document } = globalThis as any;
        const style = document.createElement('style');
        style.textContent = 'body { color: red }';
        document.head.append(style);
      });
      const trouble = troubles.at(-1) as Trouble;
      await expect.poll(() => trouble.violations).toEqual([expect.stringMatching(/^style-src/)]);
      troubles.splice(0);
    });

    it('says so when the key is not accepted, or holds neither the admin nor the support role', async () => {
      const page = await open();
      await page.goto(`${runtime.url}/console`);
      await page.getByLabel('API key').fill('ohk_not_a_key_of_this_hub');
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByText('The API key was not accepted; sign in again.').waitFor();
      await page.getByLabel('API key').fill(runtime.apiKeys.orders as string);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByText('This key has neither the admin nor the support role.').waitFor();
      expect(await page.getByRole('button', { name: 'Sign out' }).count()).toBe(0);
      expect(await page.evaluate(() => (globalThis as any).sessionStorage.length)).toBe(0);
      // Chromium logs the refused whoami calls as failed loads: expected here, and only these two.
      const trouble = troubles.at(-1) as Trouble;
      expect(trouble.errors.filter((error) => /status of 40[13]/.test(error))).toHaveLength(2);
      trouble.errors = trouble.errors.filter((error) => !/status of 40[13]/.test(error));
    });

    it('signs in with a key kept in sessionStorage only, never in the URL, and signs out', async () => {
      const page = await open();
      await signIn(page, runtime.apiKeys.admin as string);
      await expect.poll(() => page.getByText('· admin').count()).toBe(1);
      const storage = await page.evaluate(() => {
        const { sessionStorage, localStorage, location } = globalThis as any;
        return { session: Object.keys(sessionStorage), local: localStorage.length, url: location.href };
      });
      expect(storage).toEqual({ session: ['order-hub-console-key'], local: 0, url: expect.not.stringContaining('ohk_') });
      // The overview: integrations, queues and the attention list (or the note that the server has none yet).
      await page.getByRole('heading', { name: 'Integrations' }).waitFor();
      await page.getByRole('link', { name: QUEUE }).waitFor();
      await page.getByRole('heading', { name: 'Needs attention' }).waitFor();
      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.getByLabel('API key').waitFor();
      expect(await page.evaluate(() => (globalThis as any).sessionStorage.length)).toBe(0);
    });

    it('shows a dead-lettered Odoo sync with its attempts and body, and replays it by keyboard alone', async () => {
      const { bookingId } = await deadLetteredSync();
      const page = await open();
      await signIn(page, runtime.apiKeys.admin as string, `#/dead-letters/${QUEUE}?subject=${bookingId}`);
      const card = page.locator('article.dead-letter', { hasText: bookingId });
      await card.waitFor();
      await card.getByRole('button', { name: 'Details' }).click();
      await expect.poll(() => card.locator('pre.body').textContent()).toContain(bookingId);
      await expect.poll(() => card.getByText(/#1 permanent/).count()).toBe(1);
      expect(await card.getByText('PermanentError').count()).toBeGreaterThan(0);

      // From the top of the page, Tab until the replay button has the focus, then Enter.
      await page.locator('body').focus();
      let focused = '';
      for (let i = 0; i < 60 && focused !== 'Replay'; i += 1) {
        await page.keyboard.press('Tab');
        focused = await page.evaluate(() => (globalThis as any).document.activeElement?.textContent ?? '');
      }
      expect(focused).toBe('Replay');
      await page.keyboard.press('Enter');
      await card.waitFor({ state: 'detached' });
      await page.getByText(/^Replayed/).waitFor();
      await waitFor(async () => (await stillDeadLettered(bookingId)) === 0, { message: 'the dead letter did not leave' });

      // The booking's timeline through the lookup.
      await page.goto(`${runtime.url}/console#/lookup/booking/${bookingId}`);
      await page.getByRole('heading', { name: `Booking ${bookingId}` }).waitFor();
      await expect.poll(() => page.locator('ol.timeline li').count()).toBeGreaterThan(0);
    });

    it('discards another dead letter with a required reason, which the audit trail then shows', async () => {
      const { bookingId } = await deadLetteredSync();
      const page = await open();
      await signIn(page, runtime.apiKeys.admin as string, `#/dead-letters/${QUEUE}?subject=${bookingId}`);
      const card = page.locator('article.dead-letter', { hasText: bookingId });
      await card.getByRole('button', { name: 'Discard…' }).click();
      const reason = `test booking ${randomUUID().slice(0, 8)}, nothing to sync`;
      await card.getByLabel(/Why discard it/).fill(reason);
      await card.getByRole('button', { name: 'Discard', exact: true }).click();
      await card.waitFor({ state: 'detached' });
      expect(await stillDeadLettered(bookingId)).toBe(0);
      await page.getByRole('link', { name: 'Audit' }).click();
      const entry = page.locator('#audit li', { hasText: reason });
      await entry.waitFor();
      expect(await entry.textContent()).toContain('discard');
    });

    it('shows support every view without a single change button; the API refuses the change anyway', async () => {
      const { bookingId, messageId } = await deadLetteredSync();
      const page = await open();
      await signIn(page, runtime.apiKeys.support as string, `#/dead-letters/${QUEUE}?subject=${bookingId}`);
      const card = page.locator('article.dead-letter', { hasText: bookingId });
      await card.getByRole('button', { name: 'Details' }).waitFor();
      expect(await page.getByText('(read only)').count()).toBe(1);
      for (const name of [/^Replay/, /^Discard/, /^Resend/, /^Resolve/]) expect(await page.getByRole('button', { name }).count(), String(name)).toBe(0);
      expect(await page.locator('input[type=checkbox]').count()).toBe(0);
      await createOrder(runtime);
      await page.getByRole('link', { name: 'Callbacks' }).click();
      await page.getByRole('heading', { name: 'Channel callbacks' }).waitFor();
      expect(await page.getByRole('button', { name: 'Resend' }).count()).toBe(0);
      const refused = await api(runtime, 'POST', `/v1/admin/dead-letters/${QUEUE}/${encodeURIComponent(messageId)}/replay`, { token: runtime.apiKeys.support });
      expect(refused.status).toBe(403);
      expect(await stillDeadLettered(bookingId)).toBe(1);
    });

    it('shows markup in a job as text: no element is made, no script runs, no dialog opens', async () => {
      const marker = randomUUID().slice(0, 8);
      const markup = `<img src=x onerror="window.__xss=1;alert(1)">`;
      const script = `<script>window.__xss=2;alert(2)</script>`;
      await runtime.composition.services.sender.send([
        {
          queue: QUEUE,
          envelope: newEnvelope({ queue: QUEUE, type: markup, subject: `${script}${marker}`, payload: { note: markup, more: script } }, new Date(), randomUUID),
        },
      ]);
      await waitFor(async () => (await stillDeadLettered(`${script}${marker}`)) === 1, { message: 'the markup job was not dead-lettered' });
      const page = await open();
      await signIn(page, runtime.apiKeys.admin as string, `#/dead-letters/${QUEUE}?q=${encodeURIComponent(markup)}`);
      const card = page.locator('article.dead-letter', { hasText: marker });
      await card.getByRole('button', { name: 'Details' }).click();
      expect(await card.locator('.type').textContent()).toBe(markup);
      expect(await card.locator('.subject').textContent()).toBe(`${script}${marker}`);
      expect(await card.locator('pre.body').textContent()).toContain(script);
      expect(await card.locator('pre.body').textContent()).toContain('<img src=x onerror=');
      expect(await page.locator('img').count()).toBe(0);
      expect(await page.locator('script').count()).toBe(1);
      expect(await page.evaluate(() => (globalThis as any).__xss)).toBeUndefined();
      // Leave nothing behind for the other tests' lists.
      const listed = await api(runtime, 'GET', `/v1/admin/dead-letters/${QUEUE}?q=${encodeURIComponent(marker)}`, { token: runtime.apiKeys.admin });
      for (const item of listed.body.items) {
        await api(runtime, 'DELETE', `/v1/admin/dead-letters/${QUEUE}/${encodeURIComponent(item.id)}`, {
          token: runtime.apiKeys.admin,
          body: { reason: 'test markup' },
        });
      }
    });

    it('looks up an order by channel and external id with its timeline and callbacks, and resends a callback', async () => {
      const order = await createOrder(runtime);
      await waitFor(
        async () => (await api(runtime, 'GET', `/v1/admin/callbacks?subject=${order.id}`, { token: runtime.apiKeys.admin })).body.items.length > 0,
        {
          message: 'no callback was logged for the order',
        },
      );
      const page = await open();
      await signIn(page, runtime.apiKeys.admin as string, `#/lookup/by-source/${order.source}/${encodeURIComponent(order.externalId)}`);
      await page.getByRole('heading', { name: `Order ${order.id}` }).waitFor();
      await expect.poll(() => page.locator('ol.timeline li').count()).toBeGreaterThan(0);
      await page.getByRole('heading', { name: 'Channel callbacks' }).waitFor();
      await page.getByRole('link', { name: order.customerId }).click();
      await page.getByRole('heading', { name: /^Customer / }).waitFor();
      await page.getByRole('link', { name: order.id }).waitFor();

      await page.goto(`${runtime.url}/console#/callbacks?subject=${order.id}`);
      const resend = page.getByRole('button', { name: 'Resend' }).first();
      await resend.click();
      await page.getByText('Queued again.').waitFor();
    });

    it('resolves an attention item with a note, which leaves the list', async () => {
      const booking = await createBooking(runtime);
      await stripe.paymentIntents.confirm(booking.paymentIntentId, { payment_method: 'pm_card_visa' });
      await waitFor(async () => (await api(runtime, 'GET', `/v1/bookings/${booking.id}`, { token: booking.accessToken })).body.status === 'CONFIRMED', {
        message: 'the booking was not confirmed',
      });
      const failed = await api(runtime, 'POST', `/v1/bookings/${booking.id}/trips/pickup/status`, {
        token: runtime.apiKeys.admin,
        body: { status: 'failed', reason: 'no one at the address' },
      });
      expect(failed.status, JSON.stringify(failed.body)).toBe(200);
      const page = await open();
      await signIn(page, runtime.apiKeys.admin as string, '#/overview');
      const item = page.locator('#attention li', { hasText: booking.id });
      await item.waitFor();
      expect(await item.textContent()).toContain('no one at the address');
      await item.getByLabel(/Note/).fill('called the customer, new pick-up agreed');
      await item.getByRole('button', { name: 'Resolve' }).click();
      await item.waitFor({ state: 'detached' });
      const list = await api(runtime, 'GET', '/v1/admin/attention', { token: runtime.apiKeys.admin });
      expect(list.body.items.map((entry: { subject: string }) => entry.subject)).not.toContain(booking.id);
    });

    it('fits a 375 px wide screen in every view: no horizontal scroll', async () => {
      const { bookingId } = await deadLetteredSync();
      const page = await open({ width: 375, height: 740 });
      await signIn(page, runtime.apiKeys.admin as string);
      const overflow = () => page.evaluate(() => (globalThis as any).document.documentElement.scrollWidth - (globalThis as any).innerWidth);
      for (const [hash, ready] of [
        ['#/overview', 'Integrations'],
        [`#/dead-letters/${QUEUE}?subject=${bookingId}`, `Dead letters: ${QUEUE}`],
        ['#/audit', 'Audit trail'],
        [`#/lookup/booking/${bookingId}`, `Booking ${bookingId}`],
        ['#/callbacks', 'Channel callbacks'],
      ] as const) {
        await page.goto(`${runtime.url}/console${hash}`);
        await page.getByRole('heading', { name: ready }).waitFor();
        if (hash.startsWith('#/dead-letters')) await page.getByRole('button', { name: 'Details' }).first().click();
        expect(await overflow(), hash).toBeLessThanOrEqual(0);
      }
    });
  },
);
