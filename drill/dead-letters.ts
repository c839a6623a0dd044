/** The admin's dead-letter API as the drills use it: list, and replay one or in bulk. */
import type { DrillContext } from './context';

export interface DeadLetter {
  id: string;
  type: string | null;
  subject: string | null;
  jobId: string | null;
  reason: string | null;
  attempts: number;
}

/** The dead letters of a queue (of these subjects, when given). */
export async function deadLetters(ctx: DrillContext, queue: string, subjects?: ReadonlySet<string>): Promise<DeadLetter[]> {
  const list = await ctx.api.expect<{ items: DeadLetter[] }>(200, 'GET', `/v1/admin/dead-letters/${queue}?max=500`, { token: ctx.keys.admin });
  return subjects ? list.items.filter((item) => item.subject !== null && subjects.has(item.subject)) : list.items;
}

/** Replays each of these dead letters one by one; resolves how many the API replayed. */
export async function replayEach(ctx: DrillContext, queue: string, letters: readonly DeadLetter[]): Promise<number> {
  let replayed = 0;
  for (const letter of letters) {
    const answer = await ctx.api.call('POST', `/v1/admin/dead-letters/${queue}/${encodeURIComponent(letter.id)}/replay`, { token: ctx.keys.admin });
    if (answer.status === 200) replayed += 1;
  }
  return replayed;
}

/** Replays every dead letter of a queue (or those matching `filter`) with one call. */
export async function replayAll(ctx: DrillContext, queue: string, filter: { type?: string; subject?: string } = {}): Promise<number> {
  return (await ctx.api.expect<{ replayed: number }>(200, 'POST', `/v1/admin/dead-letters/${queue}/replay`, { token: ctx.keys.admin, body: filter })).replayed;
}
