import * as z from 'zod';
import type { JobHandler } from '../../../shared/platform/consume-job';
import { JobError } from '../../../shared/platform/jobs';
import type { Logger } from '../../../shared/platform/log';
import { TRIP_LEGS } from '../domain/trip';
import { tripIdSchema, type TripWithdrawer } from './driver-app';
import { TRIP_CANCEL_JOB } from './jobs';
import type { BookingContext } from './ports';

export interface WithdrawDeps extends BookingContext {
  withdrawer: TripWithdrawer;
  /** Records when the Driver-App last took our data (health's `lastSync.driverApp`). */
  recordSync?: (at: Date) => Promise<void>;
  log?: Logger;
}

const payloadSchema = z.object({ bookingId: z.string().min(1), trip: z.enum(TRIP_LEGS), tripId: tripIdSchema });

/**
 * The `driver-dispatch` worker's `trip.cancel`: withdraws a trip of a cancelled booking at the
 * Driver-App with a signed `b2c_cancel` naming the trip and the booking. The job id is the
 * Idempotency-Key and the message is fixed by the job, so a retried or redelivered job is one
 * withdrawal. Failures follow the trips' rules (transient: retried; refused: dead-lettered).
 */
export function withdrawalHandlers(deps: WithdrawDeps): Record<string, JobHandler> {
  return {
    [TRIP_CANCEL_JOB]: async function withdraw(job) {
      const parsed = payloadSchema.safeParse(job.payload);
      if (!parsed.success) throw JobError.permanent('INVALID_TRIP_JOB', `trip cancel job ${job.id} has no valid trip`, parsed.error);
      const stored = await deps.bookings.get(job.subject);
      if (!stored) throw JobError.permanent('BOOKING_NOT_FOUND', `booking ${job.subject} does not exist`);
      // Queued only with a cancellation, which is final; anything else is a job that is not ours to act on.
      if (stored.state.status !== 'CANCELLED') {
        deps.log?.info('trip not withdrawn: booking is not cancelled', { jobId: job.id, bookingId: job.subject, status: stored.state.status });
        return;
      }
      await deps.withdrawer.withdraw({ type: 'b2c_cancel', tripId: parsed.data.tripId, bookingId: stored.state.id }, job.id);
      await deps.recordSync?.(deps.clock.now());
    },
  };
}
