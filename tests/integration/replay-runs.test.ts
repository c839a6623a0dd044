// Bulk replay runs in Table Storage (Azurite): created, read back as written, listed while open,
// oldest first, and gone from the open list once done.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AzuriteTables, startAzurite } from '../../local/azurite';
import { REPLAY_RUNS_TABLE, TableReplayRuns } from '../../shared/adapters/table-storage/replay-runs';
import { TableStore } from '../../shared/adapters/table-storage/tables';
import type { ReplayRun } from '../../shared/platform/dead-letters';

let azurite: AzuriteTables;
let runs: TableReplayRuns;

beforeAll(async () => {
  azurite = await startAzurite({ port: 0 });
  const tables = new TableStore({ connectionString: azurite.connectionString, prefix: `rr${randomBytes(4).toString('hex')}` });
  await tables.ensureTables([REPLAY_RUNS_TABLE]);
  runs = new TableReplayRuns(tables.client(REPLAY_RUNS_TABLE));
});

afterAll(async () => {
  await azurite?.stop();
});

const run = (id: string, startedAt: string, overrides: Partial<ReplayRun> = {}): ReplayRun => ({
  id,
  queue: 'odoo-sync',
  filter: { type: 'booking.sync', q: 'vat' },
  actor: 'api:ops',
  ceiling: '1234567890123',
  replayed: 500,
  done: false,
  startedAt,
  updatedAt: startedAt,
  ...overrides,
});

describe('TableReplayRuns', () => {
  it('keeps a run as written and lists the open ones, oldest first', async () => {
    await runs.create(run('run-b', '2026-11-29T10:05:00.000Z'));
    await runs.create(run('run-a', '2026-11-29T10:00:00.000Z', { ceiling: null, filter: {} }));
    expect(await runs.get('run-b')).toEqual(run('run-b', '2026-11-29T10:05:00.000Z'));
    expect(await runs.get('run-a')).toMatchObject({ ceiling: null, filter: {} });
    expect((await runs.open(10)).map((open) => open.id)).toEqual(['run-a', 'run-b']);

    await runs.save({ ...run('run-a', '2026-11-29T10:00:00.000Z'), replayed: 700, done: true, updatedAt: '2026-11-29T10:01:00.000Z' });
    expect(await runs.get('run-a')).toMatchObject({ replayed: 700, done: true });
    expect((await runs.open(10)).map((open) => open.id)).toEqual(['run-b']);
    expect(await runs.get('no-such-run')).toBeUndefined();
  });
});
