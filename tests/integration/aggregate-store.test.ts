import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as z from 'zod';
import { type AzuriteTables, startAzurite } from '../../local/azurite';
import { type AggregateCodec, TableAggregateStore } from '../../shared/adapters/table-storage/aggregate-store';
import { OutboxCommitter, TableOutboxStore } from '../../shared/adapters/table-storage/outbox';
import { TableStore } from '../../shared/adapters/table-storage/tables';
import { mutate, save, skip } from '../../shared/platform/aggregate';
import { newEnvelope, type OutgoingJob } from '../../shared/platform/jobs';
import { OutboxRelay } from '../../shared/platform/outbox';

// A small aggregate with a status machine and notes that can grow large.
const noteSchema = z.object({ id: z.string(), status: z.enum(['open', 'done']), text: z.string(), version: z.number().int() });
type Note = z.infer<typeof noteSchema>;
const codec: AggregateCodec<Note> = {
  rowKey: 'note',
  machine: 'note',
  schema: noteSchema,
  columns: (note) => ({ status: note.status }),
  attributes: ['secretHash'],
};

let azurite: AzuriteTables;
let notes: TableAggregateStore<Note>;
const sent: OutgoingJob[] = [];
const clock = { now: () => new Date('2030-01-01T12:00:00.000Z'), newId: () => randomBytes(6).toString('hex') };
const at = '2030-01-01T12:00:00.000Z';

beforeAll(async () => {
  azurite = await startAzurite({ port: 0 });
  const tables = new TableStore({ connectionString: azurite.connectionString, prefix: `as${randomBytes(4).toString('hex')}` });
  await tables.ensureTables(['Notes']);
  const client = tables.client('Notes');
  const silent = { info: () => {}, warn: () => {}, error: () => {} };
  const relay = new OutboxRelay(new TableOutboxStore([client]), { send: async (jobs) => void sent.push(...jobs) }, silent);
  notes = new TableAggregateStore(client, new OutboxCommitter(relay), codec);
});

afterAll(async () => {
  await azurite?.stop();
});

const fresh = (text = 'hello'): Note => ({ id: `n/${randomBytes(4).toString('hex')}`, status: 'open', text, version: 1 });

describe('TableAggregateStore', () => {
  it('creates an aggregate with its first history row and attributes, once', async () => {
    const note = fresh();
    expect(await notes.create({ state: note, history: [{ from: null, to: 'open', at, cause: 'customer' }], jobs: [] }, { secretHash: 'abc' })).toBe('created');
    expect(await notes.create({ state: note, history: [], jobs: [] })).toBe('exists');
    const stored = await notes.get(note.id);
    expect(stored?.state).toEqual(note);
    expect(stored?.attributes).toEqual({ secretHash: 'abc' });
    expect(await notes.history(note.id)).toEqual([{ machine: 'note', subject: note.id, from: null, to: 'open', at, cause: 'customer' }]);
    expect(await notes.get('n/none')).toBeUndefined();
  });

  it('saves with the ETag it read: a stale copy conflicts, the version moves on, attributes stay', async () => {
    const note = fresh();
    await notes.create({ state: note, history: [], jobs: [] }, { secretHash: 'abc' });
    const first = (await notes.get(note.id))!;
    expect(await notes.update(first, { state: { ...first.state, text: 'one' }, history: [], jobs: [] })).toBe('saved');
    expect(await notes.update(first, { state: { ...first.state, text: 'two' }, history: [], jobs: [] })).toBe('conflict');
    const stored = (await notes.get(note.id))!;
    expect(stored.state).toMatchObject({ text: 'one', version: 2 });
    expect(stored.attributes).toEqual({ secretHash: 'abc' });
  });

  it('applies an event once: a second change with the same event id is a duplicate and writes nothing', async () => {
    const note = fresh();
    await notes.create({ state: note, history: [], jobs: [] });
    const first = (await notes.get(note.id))!;
    const job = {
      queue: 'notifications',
      envelope: newEnvelope({ queue: 'notifications', type: 't', subject: note.id, payload: {}, id: `j-${note.id}` }, clock.now(), clock.newId),
    };
    expect(
      await notes.update(first, {
        state: { ...first.state, status: 'done' },
        history: [{ from: 'open', to: 'done', at, cause: 'stripe:evt_1' }],
        jobs: [job],
        eventId: 'stripe:evt_1',
      }),
    ).toBe('saved');
    expect(await notes.hasEvent(note.id, 'stripe:evt_1')).toBe(true);
    const second = (await notes.get(note.id))!;
    expect(await notes.update(second, { state: { ...second.state, text: 'again' }, history: [], jobs: [], eventId: 'stripe:evt_1' })).toBe('duplicate-event');
    expect((await notes.get(note.id))?.state.text).toBe('hello');
    expect(sent.filter((candidate) => candidate.envelope.subject === note.id)).toHaveLength(1);
  });

  it('keeps separate histories in one partition, by machine and subject, oldest first', async () => {
    const note = fresh();
    await notes.create({ state: note, history: [{ from: null, to: 'open', at, cause: 'customer' }], jobs: [] });
    const current = (await notes.get(note.id))!;
    await notes.update(current, {
      state: { ...current.state, status: 'done' },
      history: [
        { machine: 'payment', subject: 'pay-1', from: 'pending', to: 'succeeded', at, cause: 'stripe:evt_2' },
        { from: 'open', to: 'done', at, cause: 'stripe:evt_2' },
      ],
      jobs: [],
    });
    expect((await notes.history(note.id)).map((row) => `${row.machine}:${row.subject === note.id ? 'self' : row.subject}:${row.to}`)).toEqual([
      'note:self:open',
      'payment:pay-1:succeeded',
      'note:self:done',
    ]);
    expect((await notes.history(note.id, { machine: 'payment' })).map((row) => row.to)).toEqual(['succeeded']);
    expect((await notes.history(note.id, { machine: 'note', subject: note.id })).map((row) => row.to)).toEqual(['open', 'done']);
  });

  it('spreads a state larger than one property over several, and refuses one too large for an entity', async () => {
    const big = fresh('x'.repeat(100_000));
    expect(await notes.create({ state: big, history: [], jobs: [] })).toBe('created');
    expect((await notes.get(big.id))?.state.text).toHaveLength(100_000);
    await expect(notes.create({ state: fresh('x'.repeat(500_000)), history: [], jobs: [] })).rejects.toThrow(/too large to store/);
  });

  it('commits a job larger than one property through the outbox, and relays it unchanged', async () => {
    const note = fresh();
    const big = 'y'.repeat(100_000);
    const job = {
      queue: 'callbacks',
      envelope: newEnvelope({ queue: 'callbacks', type: 't', subject: note.id, payload: { big }, id: `big-${note.id}` }, clock.now(), clock.newId),
    };
    expect(await notes.create({ state: note, history: [], jobs: [job] })).toBe('created');
    const relayed = sent.find((candidate) => candidate.envelope.id === `big-${note.id}`);
    expect((relayed?.envelope.payload as { big: string } | undefined)?.big).toBe(big);
  });

  it('retries a conflicting mutation against the fresh state, never losing a write', async () => {
    const note = fresh('');
    await notes.create({ state: note, history: [], jobs: [] });
    await Promise.all(
      ['a', 'b', 'c', 'd', 'e'].map((letter) =>
        mutate(notes, note.id, ({ state }) => (state.text.includes(letter) ? skip(undefined) : save({ ...state, text: state.text + letter }, undefined)), {
          clock,
        }),
      ),
    );
    const stored = (await notes.get(note.id))!;
    expect([...stored.state.text].sort().join('')).toBe('abcde');
    expect(stored.state.version).toBe(6);
  });
});
