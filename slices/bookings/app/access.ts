import { createHash, timingSafeEqual } from 'node:crypto';
import { type Cause, causes } from '../../../shared/kernel/history';
import { ACCESS_TOKEN_HASH, type BookingStore, type StoredBooking } from './ports';

/**
 * Who acts on a booking: a staff API key (by name and roles), or whoever holds the booking's access
 * token (the customer's app; the token may be missing or wrong).
 */
export type BookingActor = { kind: 'staff'; name: string; roles: readonly string[] } | { kind: 'customer'; token?: string };

/** Why a booking was not handed out: unknown, no credential, or a credential that does not fit. */
export type AccessError = { code: 'NOT_FOUND' } | { code: 'UNAUTHENTICATED' } | { code: 'FORBIDDEN' };

/** Staff roles that may act on any booking in a use case (besides the booking's own token); `support` only reads. */
export type StaffRoles = readonly ('admin' | 'workshop' | 'support')[];

/** The hex SHA-256 of an access token: what is stored instead of the token. */
export const hashToken = (token: string) => createHash('sha256').update(token, 'utf8').digest('hex');

/** The history cause of an actor's change. */
export function causeOf(actor: BookingActor): Cause {
  return actor.kind === 'staff' ? causes.api(actor.name) : causes.customer();
}

function mayAct(stored: StoredBooking, actor: BookingActor, staff: StaffRoles): AccessError | undefined {
  if (actor.kind === 'staff') return actor.roles.some((role) => (staff as readonly string[]).includes(role)) ? undefined : { code: 'FORBIDDEN' };
  if (!actor.token) return { code: 'UNAUTHENTICATED' };
  const presented = Buffer.from(hashToken(actor.token), 'hex');
  const expected = Buffer.from(stored.attributes[ACCESS_TOKEN_HASH] ?? '', 'hex');
  return presented.length === expected.length && timingSafeEqual(presented, expected) ? undefined : { code: 'FORBIDDEN' };
}

/**
 * Reads a booking for an actor: the one read a request makes to decide whether it may go on. Use
 * cases that then change the booking start their mutation from this read.
 */
export async function readBooking(
  bookings: Pick<BookingStore, 'get'>,
  id: string,
  actor: BookingActor,
  staff: StaffRoles,
): Promise<{ ok: true; stored: StoredBooking } | { ok: false; error: AccessError }> {
  // A caller without any credential, or a key of no staff role, learns nothing: not even whether the booking exists.
  if (actor.kind === 'customer' && !actor.token) return { ok: false, error: { code: 'UNAUTHENTICATED' } };
  if (actor.kind === 'staff' && !actor.roles.some((role) => (staff as readonly string[]).includes(role))) return { ok: false, error: { code: 'FORBIDDEN' } };
  const stored = await bookings.get(id);
  if (!stored) return { ok: false, error: { code: 'NOT_FOUND' } };
  const denied = mayAct(stored, actor, staff);
  return denied ? { ok: false, error: denied } : { ok: true, stored };
}
