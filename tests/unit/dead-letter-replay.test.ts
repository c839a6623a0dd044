import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { DeadLetterAuditEntry } from '../../shared/platform/dead-letter-audit';
import { type DeadLetter, DeadLetterAdmin, type DeadLetterQueues } from '../../shared/platform/dead-letters';
import { type JobEnvelope, newEnvelope, type OutgoingJob } from '../../shared/platform/jobs';

const QUEUE = 'odoo-sync';

/**
 * A dead-letter sub-queue that `take` scans while it grows, as a broker's receive loop does: a letter
 * added during the scan is received later in the same scan.
 */
class GrowingDeadLetters implements DeadLetterQueues {
  readonly letters: DeadLetter[] = [];

  add(envelope: JobEnvelope): void {
    this.letters.push({ messageId: randomUUID(), body: envelope, reason: 'MaxAttemptsExceeded', applicationProperties: {} });
  }

  async peek(_queue: string, max: number): Promise<DeadLetter[]> {
    return this.letters.slice(0, max);
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

function setup() {
  const deadLetters = new GrowingDeadLetters();
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
    expect((await admin.list(QUEUE))[0]).toMatchObject({ errorsOmitted: 14, attempts: 6 });
    expect(await admin.replayOne(QUEUE, 'm-1', 'ops@example.com')).toEqual({ ok: true });
    expect(sent[0]?.envelope).toMatchObject({ id: letter.id, attempt: 1, errors, errorsOmitted: 14 });
    expect(audit[0]).toMatchObject({ action: 'replay', actor: 'ops@example.com', jobId: letter.id });
    expect(await admin.auditTrail(QUEUE, 10)).toEqual([
      expect.objectContaining({ action: 'replay', actor: 'ops@example.com', jobId: letter.id, messageId: 'm-1', at: expect.stringMatching(/Z$/) }),
    ]);
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
