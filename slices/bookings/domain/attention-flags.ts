import type { Booking } from './booking';

/**
 * The flags with the booking on the attention list for `reason` alone (it replaces an earlier one);
 * a booking already on the list keeps the time it went there.
 */
export function flaggedFor(flags: Booking['flags'], reason: string, at: string): Booking['flags'] {
  const since = flags.needsAttention && flags.attentionSince ? flags.attentionSince : at;
  return { needsAttention: true, attentionReason: reason.slice(0, 500), attentionSince: since };
}
