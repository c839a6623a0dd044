import { describe, expect, it } from 'vitest';
import { type BookingActor, causeOf, hashToken, readBooking } from '../../../slices/bookings/app/access';
import { ACCESS_TOKEN_HASH } from '../../../slices/bookings/app/ports';
import { aBooking, BOOKING_ID, bookingStore, storeWith, TOKEN } from '../../support/booking-fixtures';

describe('readBooking', () => {
  it('hands the booking out to the holder of its token, with one read', async () => {
    const bookings = storeWith(aBooking());

    const read = await readBooking(bookings, BOOKING_ID, { kind: 'customer', token: TOKEN }, ['admin']);

    expect(read.ok).toBe(true);
    if (read.ok) expect(read.stored).toMatchObject({ state: aBooking(), attributes: { [ACCESS_TOKEN_HASH]: hashToken(TOKEN) } });
    expect(bookings.reads.get(BOOKING_ID)).toBe(1);
  });

  it.each<[string, BookingActor, string]>([
    ['no token', { kind: 'customer' }, 'UNAUTHENTICATED'],
    ['a wrong token', { kind: 'customer', token: 'bat_wrong' }, 'FORBIDDEN'],
    ['the token hash instead of the token', { kind: 'customer', token: hashToken(TOKEN) }, 'FORBIDDEN'],
    ['staff without a listed role', { kind: 'staff', name: 'tablet', roles: ['workshop'] }, 'FORBIDDEN'],
    ['staff with no roles', { kind: 'staff', name: 'tablet', roles: [] }, 'FORBIDDEN'],
  ])('refuses %s', async (_name, actor, code) => {
    const bookings = storeWith(aBooking());

    expect(await readBooking(bookings, BOOKING_ID, actor, ['admin'])).toEqual({ ok: false, error: { code } });
  });

  it('lets staff in when one of their roles is one the use case names', async () => {
    const bookings = storeWith(aBooking());
    const workshop: BookingActor = { kind: 'staff', name: 'tablet', roles: ['reporting', 'workshop'] };

    expect((await readBooking(bookings, BOOKING_ID, workshop, ['admin', 'workshop'])).ok).toBe(true);
    expect((await readBooking(bookings, BOOKING_ID, workshop, ['admin'])).ok).toBe(false);
  });

  it('tells a caller without a credential (or a key of no staff role) nothing, not even whether the booking exists', async () => {
    const bookings = storeWith(aBooking());

    for (const id of ['bk-unknown', BOOKING_ID]) {
      expect(await readBooking(bookings, id, { kind: 'customer' }, ['admin'])).toEqual({ ok: false, error: { code: 'UNAUTHENTICATED' } });
      expect(await readBooking(bookings, id, { kind: 'staff', name: 'shop', roles: ['orders'] }, ['admin'])).toEqual({
        ok: false,
        error: { code: 'FORBIDDEN' },
      });
    }
  });

  it('answers NOT_FOUND for an unknown id to a caller with a credential', async () => {
    const bookings = storeWith(aBooking());

    expect(await readBooking(bookings, 'bk-unknown', { kind: 'customer', token: TOKEN }, ['admin'])).toEqual({ ok: false, error: { code: 'NOT_FOUND' } });
  });

  it('refuses every token for a booking stored without a token hash', async () => {
    const bookings = bookingStore();
    bookings.seed(aBooking());

    expect(await readBooking(bookings, BOOKING_ID, { kind: 'customer', token: TOKEN }, ['admin'])).toEqual({ ok: false, error: { code: 'FORBIDDEN' } });
    expect(await readBooking(bookings, BOOKING_ID, { kind: 'customer', token: '' }, ['admin'])).toEqual({ ok: false, error: { code: 'UNAUTHENTICATED' } });
  });

  it('refuses the token of another booking', async () => {
    const bookings = storeWith(aBooking());
    bookings.seed(aBooking({ id: 'bk-2' }), { [ACCESS_TOKEN_HASH]: hashToken('bat_token-of-bk-2') });

    expect(await readBooking(bookings, BOOKING_ID, { kind: 'customer', token: 'bat_token-of-bk-2' }, ['admin'])).toEqual({
      ok: false,
      error: { code: 'FORBIDDEN' },
    });
    expect((await readBooking(bookings, 'bk-2', { kind: 'customer', token: 'bat_token-of-bk-2' }, ['admin'])).ok).toBe(true);
  });

  it('names the cause of a change after the actor: the API key by name, or the customer', () => {
    expect(causeOf({ kind: 'staff', name: 'backoffice', roles: ['admin'] })).toBe('api:backoffice');
    expect(causeOf({ kind: 'customer', token: TOKEN })).toBe('customer');
  });
});
