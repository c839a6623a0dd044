import { randomUUID } from 'node:crypto';

/** Time and fresh ids, injected so use cases and their tests control both. */
export interface Clock {
  now: () => Date;
  newId: () => string;
}

/** The real clock: wall time and random UUIDs. */
export const systemClock: Clock = { now: () => new Date(), newId: randomUUID };
