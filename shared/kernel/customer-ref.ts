import { createHash } from 'node:crypto';

/**
 * Our one reference for a customer in other systems (Odoo partner `ref`, the Driver-App's
 * `customerId`). Bookings have no customer id, and orders from other channels will name the same
 * person by e-mail too, so the key is the normalised address, hashed so the reference is
 * fixed-length and says nothing by itself.
 */
export function customerRef(email: string): string {
  return `cust:${createHash('sha256').update(email.trim().toLowerCase()).digest('hex').slice(0, 32)}`;
}
