import type { CredentialProbe } from '../../platform/health';

/**
 * Health's credential check for BTCPay: list one invoice of the store with the API key
 * (`GET /api/v1/stores/{storeId}/invoices?take=1`). The key's invoice rights cover this, where
 * reading the store itself would need a right the app does not ask for.
 */
export function btcpayCredentialProbe(settings: { url: string; apiKey: string; storeId: string }): CredentialProbe {
  const url = `${settings.url.replace(/\/+$/, '')}/api/v1/stores/${encodeURIComponent(settings.storeId)}/invoices?take=1`;
  return async (signal) => {
    const response = await fetch(url, { headers: { authorization: `token ${settings.apiKey}`, accept: 'application/json' }, signal });
    await response.body?.cancel();
    if (response.ok) return { ok: true };
    if (response.status === 401) return { ok: false, reason: 'BTCPay refused the API key (HTTP 401): check BTCPAY_API_KEY' };
    if (response.status === 403 || response.status === 404) {
      return { ok: false, reason: `BTCPay refused the key for this store (HTTP ${response.status}): check BTCPAY_STORE_ID and the key's permissions` };
    }
    return { ok: false, reason: `BTCPay answered HTTP ${response.status}` };
  };
}
