import { createServer, type Server, type Socket } from 'node:net';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { JobError } from '../../shared/platform/jobs';
import type { OutgoingMail } from '../../shared/platform/mailer';
import { messageIdFor, SmtpMailer, toJobError } from '../../shared/adapters/email/smtp-mailer';
import { SmtpSandbox } from '../../local/smtp-sandbox';

const FROM = 'Order Hub <no-reply@order-hub.test>';
let sandbox: SmtpSandbox;
let mailer: SmtpMailer;
const extra: { close(): Promise<void> }[] = [];

beforeAll(async () => {
  sandbox = await SmtpSandbox.start({ port: 0 });
  mailer = new SmtpMailer({ url: sandbox.url, from: FROM, timeoutMs: 2000 });
});

afterAll(async () => {
  await mailer?.close();
  await Promise.all(extra.map((x) => x.close()));
  await sandbox?.stop();
});

beforeEach(() => sandbox.clear());

// Unique per test so a message can only match the test that sent it.
const key = (name: string) => `${name}-${randomBytes(4).toString('hex')}`;
const mail = (overrides: Partial<OutgoingMail> = {}): OutgoingMail => ({
  to: 'kunde@example.de',
  subject: 'Test',
  text: 'Hallo',
  key: key('mail'),
  ...overrides,
});

/** The JobError a failing send rejects with (fails the test when it resolves or throws anything else). */
async function sendError(target: SmtpMailer, m: OutgoingMail): Promise<JobError> {
  const error = await target.send(m).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(JobError);
  return error as JobError;
}

/** A port nothing listens on: bound by the OS, then released. */
async function unusedPort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}

describe('SmtpMailer against the SMTP sandbox', () => {
  it('delivers a German mail with umlauts intact, carrying the key as Message-ID', async () => {
    const k = key('pickup-done');
    await mailer.send({
      to: 'jürgen.müller@example.de',
      subject: 'Fahrzeug wurde abgeholt – Ihre Buchung',
      text: 'Guten Tag Herr Müller,\nIhr Fahrzeug wurde abgeholt. Größe: ß, Ä, Ö, Ü – € 12,50',
      html: '<p>Ihr Fahrzeug wurde <b>abgeholt</b> – schöne Grüße</p>',
      key: k,
      language: 'de',
    });

    const got = await sandbox.waitFor((m) => m.messageId === messageIdFor(k));
    expect(got.messageId).toBe(`<${k}@order-hub>`);
    expect(got.to).toEqual(['jürgen.müller@example.de']);
    expect(got.from).toBe('no-reply@order-hub.test');
    expect(got.subject).toBe('Fahrzeug wurde abgeholt – Ihre Buchung');
    expect(got.text.trim()).toBe('Guten Tag Herr Müller,\nIhr Fahrzeug wurde abgeholt. Größe: ß, Ä, Ö, Ü – € 12,50');
    expect(got.html).toContain('schöne Grüße');
    expect(got.language).toBe('de');
  });

  it('delivers an English mail; the inbox filters by recipient', async () => {
    const k = key('confirmed');
    await mailer.send({ to: 'Jane@Example.com', subject: 'Your booking is confirmed', text: 'See you soon.', key: k, language: 'en' });
    await mailer.send(mail({ to: 'someone-else@example.com' }));

    const inbox = sandbox.inbox({ to: 'jane@example.com' });
    expect(inbox).toHaveLength(1);
    expect(inbox[0]).toMatchObject({
      messageId: `<${k}@order-hub>`,
      to: ['Jane@example.com'], // nodemailer lower-cases the domain, never the local part
      subject: 'Your booking is confirmed',
      language: 'en',
    });
    expect(inbox[0]?.text.trim()).toBe('See you soon.');
    expect(inbox[0]?.html).toBeUndefined();
    expect(sandbox.inbox()).toHaveLength(2);
  });

  it('keeps a mail sent twice with the same key once (a redelivered job)', async () => {
    const m = mail({ key: key('twice') });
    await mailer.send(m);
    await mailer.send(m);
    expect(sandbox.inbox()).toHaveLength(1);
  });

  it('turns a 451 reply into a transient JobError, and the next send goes through', async () => {
    sandbox.failNext(1, 451);
    const error = await sendError(mailer, mail());
    expect(error.kind).toBe('transient');
    expect(error.code).toBe('smtp_deferred');
    expect(error.cause).toMatchObject({ responseCode: 451 });
    expect(sandbox.inbox()).toHaveLength(0);

    await mailer.send(mail({ subject: 'after the fault' }));
    expect(sandbox.inbox().map((m) => m.subject)).toEqual(['after the fault']);
  });

  it('turns a 550 reply into a permanent JobError', async () => {
    sandbox.failNext(1, 550);
    const error = await sendError(mailer, mail());
    expect(error.kind).toBe('permanent');
    expect(error.code).toBe('smtp_rejected');
    expect(error.cause).toMatchObject({ responseCode: 550 });
    expect(sandbox.inbox()).toHaveLength(0);
  });

  it('refuses an invalid address as permanent without sending', async () => {
    for (const to of ['not-an-address', 'a@b.de, c@d.de', 'Max <max@example.de>', 'x@y.de\r\nBcc: z@z.de']) {
      const error = await sendError(mailer, mail({ to }));
      expect(error.kind, to).toBe('permanent');
      expect(error.code, to).toBe('invalid_address');
    }
    expect(sandbox.inbox()).toHaveLength(0);
  });
});

describe('SmtpMailer when the server is unreachable', () => {
  it('is transient when the sandbox it was talking to has stopped', async () => {
    const own = await SmtpSandbox.start({ port: 0 });
    const m = new SmtpMailer({ url: own.url, from: FROM, timeoutMs: 2000 });
    extra.push(m);
    await m.send(mail()); // the pool now holds an open connection to it
    await own.stop();

    const error = await sendError(m, mail());
    expect(error.kind).toBe('transient');
    expect(error.code).toBe('smtp_unavailable');
  });

  it('is transient when nothing listens on the port', async () => {
    const m = new SmtpMailer({ url: `smtp://127.0.0.1:${await unusedPort()}`, from: FROM, timeoutMs: 2000 });
    extra.push(m);
    const error = await sendError(m, mail());
    expect(error.kind).toBe('transient');
    expect(error.code).toBe('smtp_unavailable');
    expect(error.cause).toMatchObject({ originalCode: 'ECONNREFUSED' });
  });

  it('is transient when the server never greets', async () => {
    const sockets = new Set<Socket>();
    const silent: Server = createServer((socket) => sockets.add(socket));
    silent.listen(0, '127.0.0.1');
    await once(silent, 'listening');
    const { port } = silent.address() as { port: number };
    const m = new SmtpMailer({ url: `smtp://127.0.0.1:${port}`, from: FROM, timeoutMs: 200 });
    extra.push(m);
    try {
      const error = await sendError(m, mail());
      expect(error.kind).toBe('transient');
      expect(error.code).toBe('smtp_timeout');
    } finally {
      for (const socket of sockets) socket.destroy();
      silent.close();
    }
  });
});

describe('messageIdFor', () => {
  it('keeps a safe key readable and makes any other key a valid, distinct Message-ID', () => {
    expect(messageIdFor('confirm-b_1')).toBe('<confirm-b_1@order-hub>');
    const keys = ['confirm:b-1', 'confirm/b-1', 'confirm b-1', 'ü', '<x@y>', 'a'.repeat(200), 'a'.repeat(201)];
    const ids = keys.map(messageIdFor);
    for (const id of ids) expect(id).toMatch(/^<[A-Za-z0-9_-]+(\.[0-9a-f]{32})?@order-hub>$/);
    expect(new Set([...ids, messageIdFor('confirm-b-1')]).size).toBe(keys.length + 1);
    expect(messageIdFor('confirm:b-1')).toBe(messageIdFor('confirm:b-1'));
  });
});

describe('toJobError', () => {
  it.each([
    [{ code: 'EPROTOCOL', responseCode: 421 }, 'transient', 'smtp_deferred'],
    [{ code: 'EENVELOPE', responseCode: 452 }, 'transient', 'smtp_deferred'],
    [{ code: 'EENVELOPE', responseCode: 553 }, 'permanent', 'smtp_rejected'],
    [{ code: 'EENVELOPE', responseCode: 550 }, 'permanent', 'smtp_rejected'],
    [{ code: 'EPROTOCOL', responseCode: 503 }, 'transient', 'smtp_deferred'],
    [{ code: 'EAUTH', responseCode: 535 }, 'transient', 'smtp_auth'],
    [{ code: 'EENVELOPE' }, 'permanent', 'invalid_address'],
    [{ code: 'ETIMEDOUT' }, 'transient', 'smtp_timeout'],
    [{ code: 'ESOCKET' }, 'transient', 'smtp_unavailable'],
  ] as const)('%o -> %s %s', (fields, kind, code) => {
    const cause = Object.assign(new Error('smtp'), fields);
    const error = toJobError(cause);
    expect(error.kind).toBe(kind);
    expect(error.code).toBe(code);
    expect(error.cause).toBe(cause);
  });
});
