import type { CredentialProbe } from '../../platform/health';

/**
 * Health's credential check for Stripe: list one customer with the secret key (`GET /v1/customers?limit=1`,
 * what the app itself needs the key for). Stripe answers 401 for an unknown or revoked key and 403
 * for a restricted key without that right.
 */
export function stripeCredentialProbe(settings: { secretKey: string; apiBase?: string }): CredentialProbe {
  const url = `${(settings.apiBase ?? 'https://api.stripe.com').replace(/\/+$/, '')}/v1/customers?limit=1`;
  return async (signal) => {
    const response = await fetch(url, { headers: { authorization: `Bearer ${settings.secretKey}` }, signal });
    // Stripe's error text names part of the key: it is not passed on.
    await response.body?.cancel();
    if (response.ok) return { ok: true };
    if (response.status === 401 || response.status === 403) {
      return { ok: false, reason: `Stripe refused the secret key (HTTP ${response.status}): check STRIPE_SECRET_KEY` };
    }
    return { ok: false, reason: `Stripe answered HTTP ${response.status}` };
  };
}
