import { createServer } from 'node:net';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { odata, RestError, TableServiceClient, type TableClient, type TransactionAction } from '@azure/data-tables';
import { startAzurite, type AzuriteTables } from '../../local/azurite';
import { newEnvelope, type JobSender, type OutgoingJob } from '../../shared/platform/jobs';
import { OutboxRelay } from '../../shared/platform/outbox';
import type { Logger } from '../../shared/platform/log';
import { commitWithOutbox, OutboxCommitter, outboxRowKey, TableOutboxStore } from '../../shared/adapters/table-storage/outbox';
import { TableProcessedJobs } from '../../shared/adapters/table-storage/processed-jobs';
import { TableDeadLetterAudit } from '../../shared/adapters/table-storage/audit';
import { isTableError, mapTableError, safeKey, TableStore, TableStoreError } from '../../shared/adapters/table-storage/tables';

let azurite: AzuriteTables;
let store: TableStore;
// Unique per run so a reused emulator (or a parallel file) never sees these rows.
const prefix = `ts${randomBytes(4).toString('hex')}`;
const T0 = new Date('2030-01-01T12:00:00.000Z');
const minutes = (n: number) => new Date(T0.getTime() + n * 60_000);

beforeAll(async () => {
  azurite = await startAzurite({ port: 0 });
  store = new TableStore({ connectionString: azurite.connectionString, prefix });
});

afterAll(async () => {
  await azurite?.stop();
});

let counter = 0;
function job(queue: string, id: string, extra: Partial<OutgoingJob> = {}): OutgoingJob {
  const envelope = newEnvelope({ queue, type: 'odoo.sync-booking', subject: `b-${id}`, payload: { n: ++counter }, id }, T0, () => `gen-${counter}`);
  return { queue, envelope, ...extra };
}

async function partitionRows(client: TableClient, partitionKey: string) {
  const rows = [];
  for await (const row of client.listEntities({ queryOptions: { filter: odata`PartitionKey eq ${partitionKey}` } })) {
    rows.push(row);
  }
  return rows;
}

class RecordingLogger implements Logger {
  readonly lines: { level: string; message: string }[] = [];
  info(message: string) {
    this.lines.push({ level: 'info', message });
  }
  warn(message: string) {
    this.lines.push({ level: 'warn', message });
  }
  error(message: string) {
    this.lines.push({ level: 'error', message });
  }
}

/** Collects what it sends; the first `failures` calls throw like a broker outage. */
class FlakySender implements JobSender {
  readonly sent: OutgoingJob[] = [];
  calls = 0;
  constructor(private failures: number) {}
  async send(jobs: OutgoingJob[]): Promise<void> {
    this.calls++;
    if (this.failures > 0) {
      this.failures--;
      throw new Error('broker unavailable');
    }
    this.sent.push(...jobs);
  }
}

describe('Azurite', () => {
  it('stop() frees the port', async () => {
    const extra = await startAzurite({ port: 0 });
    await extra.stop();
    const probe = createServer();
    await new Promise<void>((resolve, reject) => probe.once('error', reject).listen(extra.port, '127.0.0.1', resolve));
    await new Promise<void>((resolve) => probe.close(() => resolve()));
  });
});

describe('TableStore', () => {
  it('ensureTables is idempotent and creates <prefix><Name>', async () => {
    await store.ensureTables(['Bookings', 'Orders']);
    await store.ensureTables(['Bookings', 'Orders']);
    const service = TableServiceClient.fromConnectionString(azurite.connectionString, { allowInsecureConnection: true });
    const names: string[] = [];
    for await (const table of service.listTables({ queryOptions: { filter: odata`TableName ge ${prefix} and TableName lt ${`${prefix}~`}` } })) {
      names.push(table.name ?? '');
    }
    expect(names.filter((n) => n === `${prefix}Bookings` || n === `${prefix}Orders`).sort()).toEqual([`${prefix}Bookings`, `${prefix}Orders`]);
  });

  it('ensureTables creates only the tables missing under its prefix (one deleted meanwhile comes back)', async () => {
    const service = TableServiceClient.fromConnectionString(azurite.connectionString, { allowInsecureConnection: true });
    const listed = async () => {
      const names: string[] = [];
      for await (const table of service.listTables({ queryOptions: { filter: odata`TableName ge ${prefix} and TableName lt ${`${prefix}~`}` } })) {
        names.push(table.name ?? '');
      }
      return names.filter((n) => n.startsWith(`${prefix}Ensure`)).sort();
    };
    await store.ensureTables(['EnsureA', 'EnsureB']);
    await service.deleteTable(`${prefix}EnsureB`);
    expect(await listed()).toEqual([`${prefix}EnsureA`]);
    await store.ensureTables(['EnsureA', 'EnsureB', 'EnsureC']);
    expect(await listed()).toEqual([`${prefix}EnsureA`, `${prefix}EnsureB`, `${prefix}EnsureC`]);
  });

  it('caches clients and rejects names Table Storage would refuse', () => {
    expect(store.client('Bookings')).toBe(store.client('Bookings'));
    expect(store.client('Bookings').tableName).toBe(`${prefix}Bookings`);
    expect(() => store.client('Dead-Letters')).toThrow(/invalid table name/);
  });

  it('probe answers true for Azurite and false for a closed port within the timeout', async () => {
    expect(await store.probe(2_000)).toBe(true);
    const closedPort = await new Promise<number>((resolve) => {
      const server = createServer().listen(0, '127.0.0.1', () => {
        const { port } = server.address() as { port: number };
        server.close(() => resolve(port));
      });
    });
    const dead = new TableStore({
      connectionString: azurite.connectionString.replace(`:${azurite.port}/`, `:${closedPort}/`),
      prefix,
    });
    // A refused connection answers at once: far inside a long timeout, not by waiting it out.
    const started = Date.now();
    expect(await dead.probe(10_000)).toBe(false);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('safeKey escapes the characters keys may not hold, one-to-one', () => {
    expect(safeKey('a/b\\c#d?e~f\u0001')).toBe('a~2Fb~5Cc~23d~3Fe~7Ef~01');
    expect(safeKey('confirm:b-1')).toBe('confirm:b-1');
    expect(safeKey('~2F')).not.toBe(safeKey('/'));
    // A lone surrogate (which the SDK cannot URL-encode) is escaped too; a pair is left alone.
    expect(safeKey('x\ud800y')).toBe('x~uD800y');
    expect(safeKey('~uD800')).not.toBe(safeKey('\ud800'));
    expect(safeKey('😀')).toBe('😀');
  });
});

describe('error mapper', () => {
  it('maps a stale ETag to conflict, a duplicate to duplicate, a missing entity to notFound', async () => {
    const client = store.client('Bookings');
    const created = await client.createEntity({ partitionKey: 'etag', rowKey: 'booking', status: 'NEW' });
    await client.updateEntity({ partitionKey: 'etag', rowKey: 'booking', status: 'CONFIRMED' }, 'Merge', {
      etag: created.etag,
    });

    const stale = await client
      .updateEntity({ partitionKey: 'etag', rowKey: 'booking', status: 'CANCELLED' }, 'Merge', { etag: created.etag })
      .catch((error: unknown) => mapTableError(error, 'update booking'));
    expect(stale).toBeInstanceOf(TableStoreError);
    expect((stale as TableStoreError).code).toBe('conflict');
    expect(((stale as TableStoreError).cause as RestError).statusCode).toBe(412);

    const duplicate = await client.createEntity({ partitionKey: 'etag', rowKey: 'booking' }).catch((error: unknown) => mapTableError(error, 'insert booking'));
    expect(isTableError(duplicate, 'duplicate')).toBe(true);

    const missing = await client.getEntity('etag', 'nope').catch((error: unknown) => mapTableError(error, 'read'));
    expect(isTableError(missing, 'notFound')).toBe(true);

    const other = mapTableError(new RestError('boom', { statusCode: 500 }), 'read');
    expect(other).not.toBeInstanceOf(TableStoreError);
    expect(other.message).toBe('table storage read failed');
    expect((other.cause as RestError).statusCode).toBe(500);

    expect((await client.getEntity<{ status: string }>('etag', 'booking')).status).toBe('CONFIRMED');
  });
});

describe('commitWithOutbox', () => {
  it('writes the state and one outbox row per job in one transaction', async () => {
    const client = store.client('Bookings');
    const jobs = [job('odoo-sync', 'confirm/b-1#?'), job('notifications', 'mail:b-1', { notBefore: minutes(5) })];
    const pending = await commitWithOutbox(
      client,
      'b-1',
      [
        ['create', { partitionKey: 'b-1', rowKey: 'booking', status: 'CONFIRMED' }],
        ['create', { partitionKey: 'b-1', rowKey: 'history|0001', to: 'CONFIRMED' }],
      ],
      jobs,
      T0,
    );

    expect(pending.map((p) => p.ref)).toEqual([
      { table: `${prefix}Bookings`, partitionKey: 'b-1', rowKey: '~outbox|odoo-sync|confirm~2Fb-1~23~3F' },
      { table: `${prefix}Bookings`, partitionKey: 'b-1', rowKey: '~outbox|notifications|mail:b-1' },
    ]);
    expect(pending[0]?.job.envelope).toEqual(jobs[0]?.envelope);
    expect(pending[1]?.job.notBefore?.toISOString()).toBe(minutes(5).toISOString());
    expect(pending.every((p) => p.storedAt.getTime() === T0.getTime())).toBe(true);

    const rows = await partitionRows(client, 'b-1');
    expect(rows.map((r) => r.rowKey)).toEqual(['booking', 'history|0001', '~outbox|notifications|mail:b-1', '~outbox|odoo-sync|confirm~2Fb-1~23~3F']);
    const outbox = rows.find((r) => r.rowKey === outboxRowKey(jobs[0]!))!;
    expect(outbox.queue).toBe('odoo-sync');
    expect(JSON.parse(outbox.envelope as string)).toEqual(jobs[0]?.envelope);
  });

  it('writes nothing, not even outbox rows, when one action fails', async () => {
    const client = store.client('Bookings');
    await client.createEntity({ partitionKey: 'b-2', rowKey: 'booking', status: 'PENDING_PAYMENT' });

    const failed = await commitWithOutbox(
      client,
      'b-2',
      [
        ['create', { partitionKey: 'b-2', rowKey: 'history|0002', to: 'CONFIRMED' }],
        ['create', { partitionKey: 'b-2', rowKey: 'booking', status: 'CONFIRMED' }], // already exists
      ],
      [job('odoo-sync', 'confirm:b-2')],
      T0,
    ).catch((error: unknown) => error);

    expect(isTableError(failed, 'duplicate')).toBe(true);
    const rows = await partitionRows(client, 'b-2');
    expect(rows.map((r) => [r.rowKey, r.status])).toEqual([['booking', 'PENDING_PAYMENT']]);
  });

  it('reports a stale ETag inside the transaction as conflict and writes no outbox row', async () => {
    const client = store.client('Bookings');
    const first = await client.createEntity({ partitionKey: 'b-3', rowKey: 'booking', status: 'A' });
    await client.updateEntity({ partitionKey: 'b-3', rowKey: 'booking', status: 'B' }, 'Merge', { etag: first.etag });
    const stale: TransactionAction = ['update', { partitionKey: 'b-3', rowKey: 'booking', status: 'C' }, 'Merge', { etag: first.etag }];

    const failed = await commitWithOutbox(client, 'b-3', [stale], [job('odoo-sync', 'sync:b-3')], T0).catch((e: unknown) => e);

    expect(isTableError(failed, 'conflict')).toBe(true);
    expect((await partitionRows(client, 'b-3')).map((r) => r.rowKey)).toEqual(['booking']);
  });

  it('collapses a deterministic job committed again before the relay removed it', async () => {
    const client = store.client('Bookings');
    await commitWithOutbox(client, 'b-4', [], [job('callbacks', 'cb:b-4')], T0);
    await commitWithOutbox(client, 'b-4', [], [job('callbacks', 'cb:b-4')], minutes(1));
    const rows = await partitionRows(client, 'b-4');
    expect(rows).toHaveLength(1);
    // The second commit replaced the row: its storedAt (Edm.DateTime, read back as a Date) is the later one.
    expect((rows[0]!.storedAt as Date).toISOString()).toBe(minutes(1).toISOString());
  });

  it('refuses more than 100 actions and actions outside the partition, before calling the service', async () => {
    const client = store.client('Bookings');
    const actions: TransactionAction[] = Array.from({ length: 100 }, (_, i) => ['create', { partitionKey: 'b-5', rowKey: `history|${i}` }]);
    await expect(commitWithOutbox(client, 'b-5', actions, [job('odoo-sync', 'x:b-5')], T0)).rejects.toThrow(
      'a transaction takes at most 100 actions; got 101 (100 state + 1 outbox)',
    );
    await expect(commitWithOutbox(client, 'b-5', [['create', { partitionKey: 'other', rowKey: 'booking' }]], [], T0)).rejects.toThrow(/partition "b-5"/);
    expect(await partitionRows(client, 'b-5')).toHaveLength(0);
  });
});

describe('TableOutboxStore', () => {
  it('lists rows older than the cut-off across tables, up to the limit, and removes them', async () => {
    await store.ensureTables(['SweepA', 'SweepB']);
    const a = store.client('SweepA');
    const b = store.client('SweepB');
    await commitWithOutbox(a, 'o-1', [['create', { partitionKey: 'o-1', rowKey: 'order' }]], [job('callbacks', 'old-1')], minutes(-10));
    await commitWithOutbox(a, 'o-2', [], [job('callbacks', 'old-2', { notBefore: minutes(30) })], minutes(-9));
    await commitWithOutbox(b, 'p-1', [], [job('odoo-sync', 'old-3')], minutes(-8));
    await commitWithOutbox(b, 'p-2', [], [job('odoo-sync', 'fresh-1')], minutes(0));
    const outbox = new TableOutboxStore([a, b]);

    const old = await outbox.listPending(minutes(-5), 10);
    expect(old.map((p) => p.job.envelope.id).sort()).toEqual(['old-1', 'old-2', 'old-3']);
    expect(old.find((p) => p.job.envelope.id === 'old-2')?.job.notBefore?.toISOString()).toBe(minutes(30).toISOString());
    expect(old.find((p) => p.job.envelope.id === 'old-3')?.ref).toEqual({
      table: `${prefix}SweepB`,
      partitionKey: 'p-1',
      rowKey: '~outbox|odoo-sync|old-3',
    });
    expect(old.find((p) => p.job.envelope.id === 'old-1')?.storedAt.toISOString()).toBe(minutes(-10).toISOString());

    expect(await outbox.listPending(minutes(-5), 2)).toHaveLength(2);
    expect((await outbox.listPending(minutes(1), 10)).map((p) => p.job.envelope.id).sort()).toEqual(['fresh-1', 'old-1', 'old-2', 'old-3']);

    await outbox.remove(old.filter((p) => p.job.envelope.id !== 'old-2'));
    await outbox.remove(old.filter((p) => p.job.envelope.id === 'old-1')); // already gone: fine
    expect((await outbox.listPending(minutes(1), 10)).map((p) => p.job.envelope.id).sort()).toEqual(['fresh-1', 'old-2']);
    // The aggregate's own row is untouched.
    expect((await partitionRows(a, 'o-1')).map((r) => r.rowKey)).toEqual(['order']);
  });

  it('skips and logs an unreadable row instead of blocking the sweep', async () => {
    await store.ensureTables(['SweepC']);
    const c = store.client('SweepC');
    await c.createEntity({ partitionKey: 'x', rowKey: '~outbox|odoo-sync|bad', queue: 'odoo-sync', envelope: '{not json', storedAt: minutes(-60) });
    await commitWithOutbox(c, 'y', [], [job('odoo-sync', 'good')], minutes(-60));
    const log = new RecordingLogger();
    const pending = await new TableOutboxStore([c], log).listPending(T0, 10);
    expect(pending.map((p) => p.job.envelope.id)).toEqual(['good']);
    expect(log.lines).toEqual([{ level: 'error', message: 'unreadable outbox row skipped' }]);
  });
});

describe('OutboxRelay over Table Storage', () => {
  it('keeps a job whose send failed and delivers it exactly once on the sweep', async () => {
    await store.ensureTables(['Relay']);
    const client = store.client('Relay');
    const sender = new FlakySender(1);
    const log = new RecordingLogger();
    const outbox = new TableOutboxStore([client]);
    const relay = new OutboxRelay(outbox, sender, log);

    const pending = await commitWithOutbox(
      client,
      'b-9',
      [['create', { partitionKey: 'b-9', rowKey: 'booking', status: 'CONFIRMED' }]],
      [job('driver-dispatch', 'pickup:b-9')],
      T0,
    );
    expect(await relay.relayCommitted(pending)).toBe(false);
    expect(sender.sent).toHaveLength(0);
    expect(log.lines.map((l) => l.level)).toEqual(['warn']);
    expect((await partitionRows(client, 'b-9')).map((r) => r.rowKey)).toEqual(['booking', '~outbox|driver-dispatch|pickup:b-9']);

    // Too young for the sweep: it may still be in the hands of the committing request.
    expect(await relay.relayPending(minutes(0), 30_000)).toBe(0);

    expect(await relay.relayPending(minutes(1), 30_000)).toBe(1);
    expect(sender.sent.map((j) => [j.queue, j.envelope.id])).toEqual([['driver-dispatch', 'pickup:b-9']]);
    expect(sender.sent[0]?.envelope).toEqual(pending[0]?.job.envelope);
    expect((await partitionRows(client, 'b-9')).map((r) => r.rowKey)).toEqual(['booking']);

    expect(await relay.relayPending(minutes(2), 30_000)).toBe(0);
    expect(sender.sent).toHaveLength(1);
    expect(sender.calls).toBe(2);
  });

  it('OutboxCommitter commits and relays in one call', async () => {
    const client = store.client('Relay');
    const sender = new FlakySender(0);
    const committer = new OutboxCommitter(new OutboxRelay(new TableOutboxStore([client]), sender, new RecordingLogger()), () => T0);

    const pending = await committer.commit(
      client,
      'b-10',
      [['create', { partitionKey: 'b-10', rowKey: 'booking', status: 'CONFIRMED' }]],
      [job('notifications', 'mail:b-10')],
    );

    expect(pending).toHaveLength(1);
    expect(sender.sent.map((j) => j.envelope.id)).toEqual(['mail:b-10']);
    expect((await partitionRows(client, 'b-10')).map((r) => r.rowKey)).toEqual(['booking']);
  });
});

describe('TableProcessedJobs', () => {
  it('marks once, tolerates a second mark, and answers has()', async () => {
    await store.ensureTables(['ProcessedJobs']);
    const client = store.client('ProcessedJobs');
    const processed = new TableProcessedJobs(client, () => T0);

    expect(await processed.has('confirm/b-1')).toBe(false);
    await processed.mark('confirm/b-1', { type: 'odoo.sync-booking', subject: 'b-1' });
    await processed.mark('confirm/b-1', { type: 'odoo.sync-booking', subject: 'changed' });

    expect(await processed.has('confirm/b-1')).toBe(true);
    expect(await processed.has('confirm/b-2')).toBe(false);
    const row = await client.getEntity<{ type: string; subject: string; processedAt: Date | string }>('confirm~2Fb-1', '');
    expect([row.type, row.subject, new Date(row.processedAt).toISOString()]).toEqual(['odoo.sync-booking', 'b-1', T0.toISOString()]);
  });
});

describe('TableDeadLetterAudit', () => {
  it('records entries and lists them newest first, per queue or all', async () => {
    await store.ensureTables(['DeadLetterAudit']);
    const audit = new TableDeadLetterAudit(store.client('DeadLetterAudit'));
    const base = { reason: 'customer gone', actor: 'ops', body: '{"a":1}' };
    await audit.record({ ...base, queue: 'odoo-sync', messageId: 'm1', action: 'discard', at: minutes(1), jobId: 'j1', type: 't', subject: 'b-1' });
    await audit.record({ ...base, queue: 'callbacks', messageId: 'm/2', action: 'replay', at: minutes(3) });
    await audit.record({ ...base, queue: 'odoo-sync', messageId: 'm3', action: 'replay', at: minutes(2), body: 'x'.repeat(40_000) });
    // Same message, same millisecond: both kept.
    await audit.record({ ...base, queue: 'odoo-sync', messageId: 'm1', action: 'discard', at: minutes(1) });

    const all = await audit.list();
    expect(all.map((e) => [e.queue, e.messageId, e.at.toISOString()])).toEqual([
      ['callbacks', 'm/2', minutes(3).toISOString()],
      ['odoo-sync', 'm3', minutes(2).toISOString()],
      ['odoo-sync', 'm1', minutes(1).toISOString()],
      ['odoo-sync', 'm1', minutes(1).toISOString()],
    ]);

    const odoo = await audit.list('odoo-sync');
    expect(odoo.map((e) => e.messageId)).toEqual(['m3', 'm1', 'm1']);
    expect(odoo[0]?.body).toHaveLength(30_000);
    const withJob = odoo.find((e) => e.jobId !== undefined);
    expect(withJob).toEqual({ ...base, queue: 'odoo-sync', messageId: 'm1', action: 'discard', at: minutes(1), jobId: 'j1', type: 't', subject: 'b-1' });
    expect(odoo.filter((e) => e.jobId === undefined && e.messageId === 'm1')[0]).not.toHaveProperty('type');

    expect((await audit.list(undefined, 1)).map((e) => e.messageId)).toEqual(['m/2']);
    expect(await audit.list('notifications')).toEqual([]);
  });
});
