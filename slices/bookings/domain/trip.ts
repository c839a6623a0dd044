import * as z from 'zod';
import type { Cause, HistoryRecord } from '../../../shared/kernel/history';

/** The two trips of a booking: the jockey fetches the car, and brings it back. */
export const TRIP_LEGS = ['pickup', 'delivery'] as const;
export type TripLeg = (typeof TRIP_LEGS)[number];

/** Statuses the Driver-App (or an admin, without one) reports for a trip. */
export const TRIP_STATUSES = ['assigned', 'in_progress', 'arrived', 'pickup_completed', 'delivery_completed', 'failed'] as const;
export type TripStatus = (typeof TRIP_STATUSES)[number];

/**
 * Where a trip stands as the booking keeps it: `dispatched` until the Driver-App reports, then what it
 * reports; `cancelled` once the booking's cancellation withdrew it (ours, never reported).
 */
export const TRIP_STATES = ['dispatched', ...TRIP_STATUSES, 'cancelled'] as const;
export type TripStateStatus = (typeof TRIP_STATES)[number];

/** A trip as the booking keeps it. */
export const tripStateSchema = z.object({
  tripId: z.string().max(200).optional(),
  status: z.enum(TRIP_STATES),
  /** The reporter's ordering: a sequence number when it sends one, else the time the update happened. */
  sequence: z.number().int().optional(),
  occurredAt: z.string().optional(),
  jockey: z.object({ name: z.string().max(200).optional(), phone: z.string().max(50).optional() }).optional(),
  failureReason: z.string().max(500).optional(),
});
export type TripState = z.infer<typeof tripStateSchema>;

export const tripsSchema = z.object({ pickup: tripStateSchema.optional(), delivery: tripStateSchema.optional() });
export type Trips = z.infer<typeof tripsSchema>;

/** One status report about a trip. */
export interface TripUpdate {
  leg: TripLeg;
  tripId?: string;
  status: TripStatus;
  occurredAt: string;
  sequence?: number;
  jockey?: { name?: string; phone?: string };
  reason?: string;
}

const RANK: Record<TripState['status'], number> = {
  dispatched: 0,
  assigned: 1,
  in_progress: 2,
  arrived: 3,
  pickup_completed: 4,
  delivery_completed: 4,
  failed: 4,
  cancelled: 5,
};

/**
 * Whether an update is news: updates arrive twice and out of order, so an update no later than the
 * last applied one (by sequence, else by time) is ignored, and a finished trip never moves back.
 */
export function isNewer(current: TripState | undefined, update: TripUpdate): boolean {
  if (!current) return true;
  if (current.status === 'cancelled') return false;
  if (current.tripId && update.tripId && current.tripId !== update.tripId) return false;
  if (current.status === update.status) return false;
  if (RANK[current.status] === 4 && current.status !== 'failed') return false;
  if (current.sequence !== undefined && update.sequence !== undefined) return update.sequence > current.sequence;
  if (current.occurredAt && Date.parse(update.occurredAt) < Date.parse(current.occurredAt)) return false;
  return RANK[update.status] >= RANK[current.status] || update.status === 'failed';
}

/** The trip after the update (call only when `isNewer`). */
export function applyTripUpdate(current: TripState | undefined, update: TripUpdate): TripState {
  return {
    ...current,
    tripId: update.tripId ?? current?.tripId,
    status: update.status,
    sequence: update.sequence ?? current?.sequence,
    occurredAt: update.occurredAt,
    jockey: update.jockey ?? current?.jockey,
    failureReason: update.status === 'failed' ? (update.reason ?? 'trip failed') : undefined,
  };
}

/** The name trip rows carry in the booking's history (beside the booking's own machine and `finding`). */
export const TRIP_HISTORY = 'trip';

/**
 * The subject of a trip's history rows: `<leg>:<trip id>`, or the leg alone while (or when, as in the
 * manual fallback) the trip has no Driver-App id. A booking has one trip per leg.
 */
export function tripSubject(leg: TripLeg, tripId: string | undefined): string {
  return tripId ? `${leg}:${tripId}` : leg;
}

/** The leg and the trip id a trip row's subject names (see `tripSubject`). */
export function parseTripSubject(subject: string): { leg: TripLeg; tripId?: string } | undefined {
  const [leg, ...rest] = subject.split(':');
  if (!TRIP_LEGS.includes(leg as TripLeg)) return undefined;
  const tripId = rest.join(':');
  return tripId ? { leg: leg as TripLeg, tripId } : { leg: leg as TripLeg };
}

/** The history row of a trip that moved from `before` to `after` (a report applied, or the trip withdrawn). */
export function tripHistory(leg: TripLeg, before: TripState | undefined, after: TripState, cause: Cause, at: string): HistoryRecord<TripStateStatus> {
  return { machine: TRIP_HISTORY, subject: tripSubject(leg, after.tripId), from: before?.status ?? null, to: after.status, at, cause };
}

/** Statuses after which a trip is over: nothing left to withdraw. A failed trip is not over (the app may try again). */
const OVER: readonly TripStateStatus[] = ['pickup_completed', 'delivery_completed', 'cancelled'];

/** A trip the Driver-App accepted (we hold its id) and that is not over: a cancellation must withdraw it. */
export interface OpenTrip {
  leg: TripLeg;
  tripId: string;
}

/**
 * Withdraws the booking's open trips (those the Driver-App accepted and that are not over): each is
 * marked `cancelled`, with its history row. The caller saves this with the cancellation and queues
 * one withdrawal message per trip returned. A trip without an id (manual fallback, or an answer
 * without one) is left as it is: there is nothing at the Driver-App to withdraw.
 */
export function withdrawTrips(
  trips: Trips | undefined,
  cause: Cause,
  at: string,
): { trips: Trips | undefined; withdrawn: OpenTrip[]; history: HistoryRecord[] } {
  const withdrawn: OpenTrip[] = [];
  const history: HistoryRecord[] = [];
  let next = trips;
  for (const leg of TRIP_LEGS) {
    const trip = trips?.[leg];
    if (!trip?.tripId || OVER.includes(trip.status)) continue;
    const cancelled: TripState = { ...trip, status: 'cancelled' };
    next = { ...next, [leg]: cancelled };
    withdrawn.push({ leg, tripId: trip.tripId });
    history.push(tripHistory(leg, trip, cancelled, cause, at));
  }
  return { trips: next, withdrawn, history };
}
