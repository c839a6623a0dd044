import * as z from 'zod';
import { causes } from '../../../shared/kernel/history';
import { textSchema } from '../../../shared/kernel/text';
import { defineHttp, type HttpFunctionDef, type HttpRequestData, type HttpResponseData, type Verification } from '../../../shared/function-table';
import { callerCause } from '../../../shared/http/auth';
import { conflict, notFound, unauthorized } from '../../../shared/http/problem';
import { parseSignedJson } from '../../../shared/http/webhook';
import { type DriverStatusUpdate, driverStatusUpdateSchema } from '../app/driver-app';
import { assignJockey, markReady, recordDriverReport, recordTripUpdate, type TripDeps, type TripUpdateOutcome } from '../app/trips';
import { idSchema } from '../domain/booking';
import { TRIP_LEGS, TRIP_STATUSES } from '../domain/trip';

export interface DriverAppFunctionDeps {
  trips: TripDeps;
  /** Whether a webhook request is the Driver-App's: its signature over the raw body and its timestamp window. */
  isAuthentic: (rawBody: Buffer, headers: Record<string, string>) => boolean;
}

const idParams = z.object({ id: idSchema });
const legParams = idParams.extend({ leg: z.enum(TRIP_LEGS) });
// Free text follows the text rule (422 naming the field). The jockey's phone is written as the admin
// has it (a local number too), so it is text as well.
const jockeyBody = z.strictObject({
  name: textSchema({ max: 200 }),
  phone: textSchema({ max: 32, min: 0 }).optional(),
  leg: z.enum(TRIP_LEGS).default('pickup'),
});
const statusBody = z.strictObject({ status: z.enum(TRIP_STATUSES), reason: textSchema({ max: 1000, min: 0, multiline: true }).optional() });
const outcomeView = z.object({ outcome: z.enum(['applied', 'ignored', 'duplicate']) });

/** A Driver-App status update: signed and fresh (401 otherwise), JSON (400), a status update (422). */
function verifyStatusUpdate(deps: DriverAppFunctionDeps, request: HttpRequestData): Verification<DriverStatusUpdate> {
  if (!deps.isAuthentic(request.rawBody, request.headers)) {
    // The challenge names the signature this endpoint takes, not a bearer key.
    return {
      ok: false,
      response: unauthorized(
        'The X-Webhook-Signature does not verify against this body, or X-Webhook-Timestamp is outside the window.',
        'X-Webhook-Signature realm="driver-app-webhook"',
      ),
    };
  }
  return parseSignedJson(request.rawBody, driverStatusUpdateSchema);
}

function outcomeResponse(outcome: TripUpdateOutcome): HttpResponseData {
  if (outcome === 'not-found') return notFound('No booking with this id.');
  if (outcome === 'wrong-state' || outcome === 'late') return conflict('The booking is not at a stage where this trip can report.');
  return { status: 200, body: { outcome } };
}

/** The Driver-App webhook, the workshop's "ready" and the admin's manual fallback without a Driver-App. */
export function driverAppFunctions(deps: DriverAppFunctionDeps): HttpFunctionDef[] {
  const tags = ['driver-app'];
  return [
    defineHttp({
      kind: 'http',
      name: 'bookings-ready',
      route: 'v1/bookings/{id}/ready',
      methods: ['POST'],
      roles: ['workshop', 'admin'],
      summary: 'The car is ready: READY_FOR_DELIVERY, and the delivery trip goes out',
      tags,
      request: { params: idParams },
      responses: {
        200: { description: 'Ready', schema: z.object({ id: z.string(), status: z.string() }) },
        404: { description: 'Unknown booking' },
        409: { description: 'Not in the workshop' },
      },
      handler: async ({ params, caller, operationId }) => {
        const ready = await markReady(deps.trips, params.id, callerCause(caller), operationId);
        if (ready.ok) return { status: 200, body: { id: ready.booking.id, status: ready.booking.status } };
        if (ready.error === 'NOT_FOUND') return notFound('No booking with this id.');
        return conflict(`Only a car in the workshop can be marked ready; this booking is ${ready.status}.`);
      },
    }),
    defineHttp({
      kind: 'http',
      name: 'bookings-jockey',
      route: 'v1/bookings/{id}/jockey',
      methods: ['POST'],
      roles: ['admin'],
      summary: 'Manual fallback without a Driver-App: assign a jockey to a trip',
      tags,
      request: { params: idParams, body: jockeyBody },
      responses: {
        200: { description: 'Recorded', schema: outcomeView },
        404: { description: 'Unknown booking' },
        409: { description: 'The booking is not at a stage where this trip can report' },
      },
      handler: async ({ params, body, caller }) =>
        outcomeResponse(await assignJockey(deps.trips, params.id, body.leg, { name: body.name, phone: body.phone || undefined }, callerCause(caller))),
    }),
    defineHttp({
      kind: 'http',
      name: 'bookings-trip-status',
      route: 'v1/bookings/{id}/trips/{leg}/status',
      methods: ['POST'],
      roles: ['admin'],
      summary: "Manual fallback without a Driver-App: record a trip's status as the app would",
      tags,
      request: { params: legParams, body: statusBody },
      responses: {
        200: { description: 'Recorded', schema: outcomeView },
        404: { description: 'Unknown booking' },
        409: { description: 'The booking is not at a stage where this trip can report' },
      },
      handler: async ({ params, body, caller }) =>
        outcomeResponse(
          await recordTripUpdate(
            deps.trips,
            params.id,
            { leg: params.leg, status: body.status, occurredAt: deps.trips.clock.now().toISOString(), reason: body.reason || undefined },
            callerCause(caller),
          ),
        ),
    }),
    defineHttp({
      kind: 'http',
      name: 'webhooks-driver-app',
      route: 'v1/webhooks/driver-app',
      methods: ['POST'],
      summary: 'Driver-App status updates (X-Webhook-Signature: hex HMAC-SHA256 of the raw body; X-Webhook-Timestamp)',
      tags: ['webhooks'],
      verify: (request) => verifyStatusUpdate(deps, request),
      responses: {
        200: { description: 'Acknowledged', schema: outcomeView },
        400: { description: 'Not JSON' },
        401: { description: 'Unsigned, tampered or stale' },
        422: { description: 'Not a status update' },
      },
      handler: async ({ event: update }) => {
        const leg = update.type === 'b2c_pickup' ? 'pickup' : 'delivery';
        // One event id per report: the same report delivered twice is recognised in the booking's partition.
        const eventId = `driver:${update.tripId}:${update.sequence ?? update.occurredAt}:${update.status}`;
        const outcome = await recordDriverReport(
          deps.trips,
          update.bookingId,
          {
            leg,
            tripId: update.tripId,
            status: update.status,
            occurredAt: update.occurredAt,
            sequence: update.sequence,
            jockey: update.driver,
            reason: update.reason,
          },
          causes.driver(`${update.tripId}:${update.status}`),
          eventId,
        );
        // Reports for unknown bookings, the wrong stage or a withdrawn trip (`late`: the booking is flagged
        // for a person) are acknowledged: retrying cannot help.
        return { status: 200, body: { outcome: outcome === 'applied' || outcome === 'duplicate' ? outcome : 'ignored' } };
      },
    }),
  ];
}
