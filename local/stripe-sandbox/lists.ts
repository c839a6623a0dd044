/** Stripe list pagination: newest first, `limit` 1–100 (default 10), `starting_after` / `ending_before`. */
import { badParam } from './errors';
import type { ListObject } from './objects';
import type { Params } from './params';

/** The parameters every list endpoint accepts, besides its filters. */
export const LIST_PARAMS = ['limit', 'starting_after', 'ending_before'] as const;

export function paginate<T extends { id: string }>(oldestFirst: Iterable<T>, params: Params, url: string): ListObject<T> {
  const items = [...oldestFirst].reverse();
  const limit = params.integer('limit', { min: 1 }) ?? 10;
  if (limit > 100) throw badParam('This value must be less than or equal to 100.', 'limit', 'parameter_invalid_integer');
  const after = params.string('starting_after');
  const before = params.string('ending_before');
  if (after !== undefined && before !== undefined) {
    throw badParam('You may only specify one of these parameters: ending_before, starting_after.', 'ending_before');
  }
  const cursorIndex = (cursor: string, param: string): number => {
    const index = items.findIndex((item) => item.id === cursor);
    if (index < 0) throw badParam(`No such object: '${cursor}'`, param, 'resource_missing');
    return index;
  };
  if (before !== undefined) {
    const end = cursorIndex(before, 'ending_before');
    const start = Math.max(0, end - limit);
    return { object: 'list', data: items.slice(start, end), has_more: start > 0, url };
  }
  const start = after === undefined ? 0 : cursorIndex(after, 'starting_after') + 1;
  return { object: 'list', data: items.slice(start, start + limit), has_more: start + limit < items.length, url };
}
