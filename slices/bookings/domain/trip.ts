import { z } from 'zod';

/** The two trips of a booking: the jockey fetches the car, and brings it back. */
export const TRIP_LEGS = ['pickup', 'delivery'] as const;
export type TripLeg = (typeof TRIP_LEGS)[number];

/** Statuses the Driver-App (or an admin, without one) reports for a trip. */
export const TRIP_STATUSES = ['assigned', 'in_progress', 'arrived', 'pickup_completed', 'delivery_completed', 'failed'] as const;
export type TripStatus = (typeof TRIP_STATUSES)[number];

/** A trip as the booking keeps it: `dispatched` until the Driver-App reports. */
export const tripStateSchema = z.object({
  tripId: z.string().max(200).optional(),
  status: z.enum(['dispatched', ...TRIP_STATUSES]),
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
};

/**
 * Whether an update is news: updates arrive twice and out of order, so an update no later than the
 * last applied one (by sequence, else by time) is ignored, and a finished trip never moves back.
 */
export function isNewer(current: TripState | undefined, update: TripUpdate): boolean {
  if (!current) return true;
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
