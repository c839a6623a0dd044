import { type ConfigOf, parseConcerns, platformConcerns } from '../shared/config';
import { bookingsConcerns } from '../slices/bookings/config';
import { ordersConcerns, paymentConcerns, shopConcerns } from '../slices/orders/config';

/** Every configuration concern: the platform's and each slice's. */
export const concerns = { ...platformConcerns, ...bookingsConcerns, ...ordersConcerns, ...paymentConcerns, ...shopConcerns };

/** The whole configuration, as the composition root hands it out. */
export type Config = ConfigOf<typeof concerns>;

/** Parses the environment once at start-up; throws ConfigError naming every bad variable. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  return parseConcerns(concerns, env);
}

export { ConfigError } from '../shared/config';
