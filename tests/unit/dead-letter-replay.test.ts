import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { DeadLetterAuditEntry } from '../../shared/platform/dead-letter-audit';
import { type DeadLetter, DeadLetterAdmin, type DeadLetterQueues, type ReplayRun, type ReplayRuns } from '../../shared/platform/dead-letters';
import { type JobEnvelope, newEnvelope, type OutgoingJob } from '../../shared/platform/jobs';

const QUEUE = 'odoo-sync';

/**
 * A dead-letter sub-queue that `take` scans while it grows, as a broker's receive loop does: a letter
 * added during the scan is received later in the same scan.
 */
class GrowingDeadLetters implements DeadLetterQueues {
  readonly letters: DeadLetter[] = [];
  private sequence = 0;

  /** `sequenced`: letters get increasing sequence numbers, as a broker's do. */
  constructor(private readonly sequenced = false) {}

  add(envelope: JobEnvelope): void {
    this.sequence += 1;
    this.letters.push({
      messageId: randomUUID(),
      body: envelope,
      reason: 'MaxAttemptsExceeded',
      applicationProperties: {},
      ...(this.sequenced ? { sequenceNumber: String(this.sequence) } : {}),
    });
  }

  async peek(_queue: string, max: number, after?: string): Promise<DeadLetter[]> {
    const from = after === undefined ? this.letters : this.letters.filter((letter) => BigInt(letter.sequenceNumber ?? '0') > BigInt(after));
    return from.slice(0, max);
  }

  async take(_queue: string, select: (letter: DeadLetter) => boolean, act: (letter: DeadLetter) => Promise<void>, max: number): Promise<number> {
    let taken = 0;
    const passedOver = new Set<string>();
    for (
      let next = this.letters.find((l) => !passedOver.has(l.messageId));
      next && taken < max;
      next = this.letters.find((l) => !passedOver.has(l.messageId))
    ) {
      const letter = next;
      passedOver.add(letter.messageId);
      if (!select(letter)) continue;
      await act(letter);
      this.letters.splice(this.letters.indexOf(letter), 1);
      taken += 1;
    }
    return taken;
  }
}

function setup(sequenced = false) {
  const deadLetters = new GrowingDeadLetters(sequenced);
  const sent: OutgoingJob[] = [];
  const audit: DeadLetterAuditEntry[] = [];
  const admin = new DeadLetterAdmin({
    queues: [QUEUE],
    deadLetters,
    // The replayed job fails again at once and is back in the dead-letter queue before the scan ends.
    sender: {
      send: async (jobs) => {
        sent.push(...jobs);
        for (const job of jobs) if (job.envelope.type === 'odoo.broken') deadLetters.add(job.envelope);
        // Another job dead-lettered meanwhile (a new id): it was not there when the call began.
        for (const job of jobs)
          if (job.envelope.type === 'odoo.spawns')
            deadLetters.add(newEnvelope({ queue: QUEUE, type: 'odoo.healthy', subject: 'late', payload: {} }, new Date(), randomUUID));
      },
    },
    audit: { record: async (entry) => void audit.push(entry), list: async () => audit },
  });
  const job = (type: string, subject: string) => newEnvelope({ queue: QUEUE, type, subject, payload: {} }, new Date(), randomUUID);
  return { admin, deadLetters, sent, audit, job };
}

describe('bulk dead-letter replay', () => {
  it('replays each job once, even when a replayed job is dead-lettered again during the same call', async () => {
    const { admin, deadLetters, sent, audit, job } = setup();
    const broken = job('odoo.broken', 'booking-1');
    deadLetters.add(broken);
    for (let i = 0; i < 200; i += 1) deadLetters.add(job('odoo.healthy', `booking-${i + 2}`));

    expect(await admin.replayMany(QUEUE, {}, 'ops')).toBe(201);
    expect(sent).toHaveLength(201);
    expect(sent.filter((s) => s.envelope.id === broken.id)).toHaveLength(1);
    expect(new Set(sent.map((s) => s.envelope.id)).size).toBe(201);
    expect(audit.filter((entry) => entry.action === 'replay')).toHaveLength(201);
    // The failing job is back in the dead-letter queue once, for the next replay.
    expect(deadLetters.letters.map((l) => (l.body as JobEnvelope).id)).toEqual([broken.id]);
  });

  it('replays with a fresh count of attempts, keeping the bounded history and how much was left out', async () => {
    const { admin, deadLetters, sent, audit, job } = setup();
    const errors = Array.from({ length: 10 }, (_, i) => ({ attempt: i + 1, at: `t${i}`, kind: 'transient' as const, code: 'DOWN', message: 'down' }));
    const letter = { ...job('odoo.healthy', 'booking-1'), attempt: 6, errors };
    deadLetters.letters.push({
      messageId: 'm-1',
      body: letter,
      reason: 'MaxAttemptsExceeded',
      applicationProperties: { JobErrors: JSON.stringify(errors), JobErrorsOmitted: '14' },
    });
    expect((await admin.list(QUEUE)).items[0]).toMatchObject({ errorsOmitted: 14, attempts: 6 });
    expect(await admin.replayOne(QUEUE, 'm-1', 'ops@example.com')).toEqual({ ok: true });
    expect(sent[0]?.envelope).toMatchObject({ id: letter.id, attempt: 1, errors, errorsOmitted: 14 });
    expect(audit[0]).toMatchObject({ action: 'replay', actor: 'ops@example.com', jobId: letter.id });
    expect(await admin.auditTrail(QUEUE, 10)).toEqual([
      expect.objectContaining({ action: 'replay', actor: 'ops@example.com', jobId: letter.id, messageId: 'm-1', at: expect.stringMatching(/Z$/) }),
    ]);
  });

  it('takes only the letters there when the call began (by sequence number): later ones wait for the next call', async () => {
    const { admin, deadLetters, sent, job } = setup(true);
    const broken = job('odoo.broken', 'booking-1');
    deadLetters.add(broken);
    for (let i = 0; i < 5; i += 1) deadLetters.add(job('odoo.spawns', `booking-${i + 2}`));
    expect(await admin.replayMany(QUEUE, {}, 'ops')).toBe(6);
    expect(sent.map((s) => s.envelope.subject).sort()).toEqual(['booking-1', 'booking-2', 'booking-3', 'booking-4', 'booking-5', 'booking-6']);
    // Left for the next call: the broken one back once, and the five that arrived during the call.
    expect(deadLetters.letters.map((l) => (l.body as JobEnvelope).subject).sort()).toEqual(['booking-1', 'late', 'late', 'late', 'late', 'late']);
    expect(await admin.replayMany(QUEUE, { type: 'odoo.healthy' }, 'ops')).toBe(5);
  });

  it('replays only what the filter names', async () => {
    const { admin, deadLetters, sent, job } = setup();
    deadLetters.add(job('odoo.healthy', 'booking-1'));
    deadLetters.add(job('odoo.healthy', 'booking-2'));
    expect(await admin.replayMany(QUEUE, { subject: 'booking-2' }, 'ops')).toBe(1);
    expect(sent.map((s) => s.envelope.subject)).toEqual(['booking-2']);
    expect(deadLetters.letters).toHaveLength(1);
  });
});

/** A dead-letter sub-queue that numbers its letters as the broker does, and peeks after a sequence number. */
class SequencedDeadLetters implements DeadLetterQueues {
  readonly letters: DeadLetter[] = [];
  peeks = 0;

  add(letter: Omit<DeadLetter, 'sequenceNumber' | 'applicationProperties'>): void {
    this.letters.push({ ...letter, applicationProperties: {}, sequenceNumber: String(this.letters.length + 1) });
  }

  async peek(_queue: string, max: number, after?: string): Promise<DeadLetter[]> {
    this.peeks += 1;
    return this.letters.filter((letter) => after === undefined || Number(letter.sequenceNumber) > Number(after)).slice(0, max);
  }

  async take(): Promise<number> {
    return 0;
  }
}

describe('listing dead letters', () => {
  const setupList = (maxScan?: number) => {
    const deadLetters = new SequencedDeadLetters();
    const admin = new DeadLetterAdmin({
      queues: [QUEUE],
      deadLetters,
      sender: { send: async () => {} },
      audit: { record: async () => {}, list: async () => [] },
      maxScan,
    });
    const job = (type: string, subject: string, message = 'Odoo refused') =>
      ({
        ...newEnvelope({ queue: QUEUE, type, subject, payload: {} }, new Date(), randomUUID),
        errors: [{ attempt: 1, at: 't', kind: 'permanent', code: 'VALIDATION', message }],
      }) as JobEnvelope;
    return { admin, deadLetters, job };
  };

  it('filters before max: a page holds up to max matches, wherever they are in the queue', async () => {
    const { admin, deadLetters, job } = setupList();
    for (let i = 0; i < 250; i += 1) deadLetters.add({ messageId: `m-${i}`, body: job('booking.sync', `b-${i}`), reason: 'MaxAttemptsExceeded' });
    deadLetters.add({
      messageId: 'late',
      body: job('order.sync', 'o-1', 'Partner VAT number is invalid'),
      reason: 'PermanentError',
      description: 'Odoo said no',
    });

    expect((await admin.list(QUEUE, { max: 5, filter: { type: 'order.sync' } })).items.map((item) => item.id)).toEqual(['late']);
    expect((await admin.list(QUEUE, { filter: { q: 'vat NUMBER' } })).items.map((item) => item.id)).toEqual(['late']);
    expect((await admin.list(QUEUE, { filter: { q: 'odoo said' } })).items.map((item) => item.id)).toEqual(['late']);
    expect((await admin.list(QUEUE, { filter: { reason: 'PermanentError', subject: 'o-1' } })).items.map((item) => item.id)).toEqual(['late']);
    expect((await admin.list(QUEUE, { filter: { reason: 'PermanentError', subject: 'b-1' } })).items).toEqual([]);
  });

  it('pages on with the cursor: every letter once, in order, and null after the last', async () => {
    const { admin, deadLetters, job } = setupList();
    for (let i = 0; i < 7; i += 1) deadLetters.add({ messageId: `m-${i}`, body: job(i % 2 === 0 ? 'even' : 'odd', `b-${i}`) });
    const seen: string[] = [];
    let after: string | undefined;
    for (let page = 0; page < 5; page += 1) {
      const listed = await admin.list(QUEUE, { max: 2, after, filter: { type: 'even' } });
      seen.push(...listed.items.map((item) => item.id));
      if (listed.next === null) break;
      after = listed.next;
    }
    expect(seen).toEqual(['m-0', 'm-2', 'm-4', 'm-6']);
  });

  it('stops a scan after maxScan letters and answers with the cursor where it stopped', async () => {
    const { admin, deadLetters, job } = setupList(150);
    for (let i = 0; i < 400; i += 1) deadLetters.add({ messageId: `m-${i}`, body: job('booking.sync', `b-${i}`) });
    deadLetters.add({ messageId: 'needle', body: job('order.sync', 'o-1') });
    const first = await admin.list(QUEUE, { filter: { type: 'order.sync' } });
    expect(first).toEqual({ items: [], next: '150' });
    const second = await admin.list(QUEUE, { after: first.next as string, filter: { type: 'order.sync' } });
    expect(second).toEqual({ items: [], next: '300' });
    const third = await admin.list(QUEUE, { after: second.next as string, filter: { type: 'order.sync' } });
    expect(third.items.map((item) => item.id)).toEqual(['needle']);
    expect(third.next).toBeNull();
  });
});

/** Replay runs in memory. */
class MemoryReplayRuns implements ReplayRuns {
  readonly runs = new Map<string, ReplayRun>();
  async create(run: ReplayRun) {
    this.runs.set(run.id, { ...run });
  }
  async get(id: string) {
    return this.runs.get(id);
  }
  async open(limit: number) {
    return [...this.runs.values()].filter((run) => !run.done).slice(0, limit);
  }
  async save(run: ReplayRun) {
    this.runs.set(run.id, { ...run });
  }
}

describe('bulk replays past one batch', () => {
  it('replays one batch in the call and the rest batch by batch from the timer, reporting progress; later letters wait', async () => {
    const deadLetters = new GrowingDeadLetters(true);
    const runs = new MemoryReplayRuns();
    const sent: OutgoingJob[] = [];
    const admin = new DeadLetterAdmin({
      queues: [QUEUE],
      deadLetters,
      sender: { send: async (jobs) => void sent.push(...jobs) },
      audit: { record: async () => {}, list: async () => [] },
      maxBatch: 2,
      runs,
      newId: () => 'run-1',
    });
    const job = (subject: string) => newEnvelope({ queue: QUEUE, type: 'odoo.healthy', subject, payload: {} }, new Date(), randomUUID);
    for (let i = 1; i <= 5; i += 1) deadLetters.add(job(`booking-${i}`));

    const started = await admin.startReplay(QUEUE, {}, 'ops');
    expect(started).toMatchObject({ replayed: 2, more: true, run: { id: 'run-1', replayed: 2, done: false, ceiling: '5' } });
    // A letter arriving after the call began is not part of this replay.
    deadLetters.add(job('booking-late'));

    expect(await admin.continueReplays()).toBe(2);
    expect(await admin.replayRun('run-1')).toMatchObject({ replayed: 4, done: false });
    expect(await admin.continueReplays()).toBe(1);
    expect(await admin.replayRun('run-1')).toMatchObject({ replayed: 5, done: true });
    expect(await admin.continueReplays()).toBe(0);
    expect(sent.map((s) => s.envelope.subject)).toEqual(['booking-1', 'booking-2', 'booking-3', 'booking-4', 'booking-5']);
    expect(deadLetters.letters.map((l) => (l.body as JobEnvelope).subject)).toEqual(['booking-late']);
  });

  it('answers in one call when one batch holds everything, with no run', async () => {
    const { admin, deadLetters, job } = setup();
    deadLetters.add(job('odoo.healthy', 'booking-1'));
    expect(await admin.startReplay(QUEUE, {}, 'ops')).toEqual({ replayed: 1, more: false });
  });
});
