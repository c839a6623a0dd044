/**
 * The channel-callback configuration through `loadConfig`: per-channel URL and secrets
 * (`channelCallbacks`, slices/orders/config.ts) and the worker's settings (`callbacks`, shared/config.ts).
 */
import { describe, expect, it } from 'vitest';
import { type Config, ConfigError, loadConfig } from '../../functions/config';

const base = {
  SERVICEBUS_CONNECTION: 'Endpoint=sb://127.0.0.1:5672;SharedAccessKeyName=x;SharedAccessKey=y;UseDevelopmentEmulator=true',
  TABLES_CONNECTION: 'UseDevelopmentStorage=true',
  CHANNELS: 'pos,woocommerce',
};
const secret = (seed: string) => `whsec_${Buffer.from(seed.repeat(24).slice(0, 24)).toString('base64')}`;
const SECRET = secret('a');

/** The ConfigError `loadConfig` throws for an environment; fails the test when it starts. */
function refusal(env: Record<string, string | undefined>): ConfigError {
  try {
    loadConfig({ ...base, ...env });
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('the configuration was accepted');
}

const callbacksOf = (env: Record<string, string | undefined>): Config['channelCallbacks'] => loadConfig({ ...base, ...env }).channelCallbacks;

describe('channel callback URLs', () => {
  it('takes an https URL with its secret as the channel endpoint', () => {
    expect(callbacksOf({ POS_CALLBACK_URL: 'https://pos.example.com/hooks/order-hub', POS_CALLBACK_SECRET: SECRET })).toEqual({
      pos: { url: 'https://pos.example.com/hooks/order-hub', secrets: [SECRET] },
    });
  });

  it('refuses at start-up a URL pointing at a private or loopback address, naming the variable and never the value', () => {
    const urls = [
      'https://127.0.0.1/callbacks',
      'https://127.0.0.1:8443/callbacks',
      'https://localhost/callbacks',
      'https://LOCALHOST:9000/callbacks',
      'https://[::1]/callbacks',
      'https://[fd00::1]/callbacks',
      'https://[fe80::1]/callbacks',
      'https://10.1.2.3/callbacks',
      'https://172.16.0.9/callbacks',
      'https://192.168.178.1/callbacks',
      'https://169.254.169.254/latest/meta-data',
      'https://100.64.0.1/callbacks',
      'https://0.0.0.0/callbacks',
      'https://2130706433/callbacks',
      'https://printer.local/callbacks',
      'https://orders.internal/callbacks',
    ];
    for (const url of urls) {
      const error = refusal({ POS_CALLBACK_URL: url, POS_CALLBACK_SECRET: SECRET });
      expect(error.message, url).toContain('POS_CALLBACK_URL');
      expect(error.message, url).toMatch(/private or loopback/);
      expect(error.message, url).not.toContain(url);
      expect(error.message, url).not.toContain(new URL(url).hostname);
      expect(error.message, url).not.toContain(SECRET);
    }
  });

  it('refuses plain http', () => {
    const error = refusal({ WOOCOMMERCE_CALLBACK_URL: 'http://shop.example.com/wc-api/order-hub', WOOCOMMERCE_CALLBACK_SECRET: SECRET });
    expect(error.message).toContain('WOOCOMMERCE_CALLBACK_URL');
    expect(error.message).toMatch(/https/);
    expect(error.message).not.toContain('shop.example.com');
  });

  it('refuses what is not a URL without quoting it', () => {
    const error = refusal({ POS_CALLBACK_URL: 'pos callbacks please', POS_CALLBACK_SECRET: SECRET });
    expect(error.message).toContain('POS_CALLBACK_URL');
    expect(error.message).not.toContain('pos callbacks please');
  });

  it('names every bad variable of every channel at once', () => {
    const error = refusal({ POS_CALLBACK_URL: 'https://10.0.0.1/', POS_CALLBACK_SECRET: SECRET, WOOCOMMERCE_CALLBACK_URL: 'http://shop.example.com/' });
    expect(error.message).toContain('POS_CALLBACK_URL');
    expect(error.message).toContain('WOOCOMMERCE_CALLBACK_URL');
    expect(error.message).toContain('WOOCOMMERCE_CALLBACK_SECRET');
  });

  it('allows http and private addresses with CALLBACK_ALLOW_PRIVATE=true (local runs)', () => {
    const config = loadConfig({
      ...base,
      CALLBACK_ALLOW_PRIVATE: 'true',
      POS_CALLBACK_URL: 'http://127.0.0.1:7071/channel/pos',
      POS_CALLBACK_SECRET: SECRET,
      WOOCOMMERCE_CALLBACK_URL: 'http://localhost:8080/wc',
      WOOCOMMERCE_CALLBACK_SECRET: SECRET,
    });
    expect(config.channelCallbacks).toEqual({
      pos: { url: 'http://127.0.0.1:7071/channel/pos', secrets: [SECRET] },
      woocommerce: { url: 'http://localhost:8080/wc', secrets: [SECRET] },
    });
    expect(config.callbacks.allowPrivate).toBe(true);
    // `1` means the same; `false` does not allow it.
    expect(callbacksOf({ CALLBACK_ALLOW_PRIVATE: '1', POS_CALLBACK_URL: 'http://10.0.0.1/', POS_CALLBACK_SECRET: SECRET }).pos?.url).toBe('http://10.0.0.1/');
    expect(refusal({ CALLBACK_ALLOW_PRIVATE: 'false', POS_CALLBACK_URL: 'http://10.0.0.1/', POS_CALLBACK_SECRET: SECRET }).message).toContain(
      'POS_CALLBACK_URL',
    );
  });

  it('is off by default', () => {
    expect(loadConfig(base).callbacks.allowPrivate).toBe(false);
  });
});

describe('channel callback secrets', () => {
  it('requires a secret with the URL', () => {
    for (const value of [undefined, '', ' , ']) {
      const error = refusal({ POS_CALLBACK_URL: 'https://pos.example.com/hooks', POS_CALLBACK_SECRET: value });
      expect(error.message, String(value)).toContain('POS_CALLBACK_SECRET');
      expect(error.message).not.toContain('POS_CALLBACK_URL');
    }
  });

  it('wants every secret in the Standard Webhooks form whsec_<base64>, and never echoes one', () => {
    for (const bad of ['s3cr3t-value', 'whsec_', 'whsec_not base64!', 'sk_live_abcdef', `${SECRET},plain-old-secret`, 'WHSEC_YWJj']) {
      const error = refusal({ POS_CALLBACK_URL: 'https://pos.example.com/hooks', POS_CALLBACK_SECRET: bad });
      expect(error.message, bad).toContain('POS_CALLBACK_SECRET');
      expect(error.message, bad).toMatch(/whsec_/);
      for (const part of bad.split(',')) {
        if (part.length > 6) expect(error.message, bad).not.toContain(part);
      }
    }
  });

  it('keeps several comma-separated secrets in their order (the first is current)', () => {
    const current = secret('n');
    const previous = secret('o');
    const oldest = secret('p');
    const endpoint = callbacksOf({ POS_CALLBACK_URL: 'https://pos.example.com/hooks', POS_CALLBACK_SECRET: ` ${current} , ${previous},${oldest} ` }).pos;
    expect(endpoint?.secrets).toEqual([current, previous, oldest]);
    const reversed = callbacksOf({ POS_CALLBACK_URL: 'https://pos.example.com/hooks', POS_CALLBACK_SECRET: `${oldest},${current}` }).pos;
    expect(reversed?.secrets).toEqual([oldest, current]);
  });

  it('wants no secret from a channel without URL', () => {
    expect(callbacksOf({ POS_CALLBACK_SECRET: 'not even a whsec' })).toEqual({});
  });
});

describe('which channels have an endpoint', () => {
  it('gives none to a channel without URL, and none to a URL whose channel is not configured', () => {
    const endpoints = callbacksOf({
      WOOCOMMERCE_CALLBACK_URL: 'https://shop.example.com/wc-api/order-hub',
      WOOCOMMERCE_CALLBACK_SECRET: SECRET,
      POS_CALLBACK_URL: '',
      B2B_CALLBACK_URL: 'https://b2b.example.com/hooks',
      B2B_CALLBACK_SECRET: SECRET,
    });
    expect(Object.keys(endpoints)).toEqual(['woocommerce']);
    expect(endpoints.pos).toBeUndefined();
    expect(endpoints.b2b).toBeUndefined();
    expect(callbacksOf({})).toEqual({});
  });

  it('names a channel with a dash by its upper-case underscore variables', () => {
    const config = loadConfig({
      ...base,
      CHANNELS: 'b2b-portal',
      B2B_PORTAL_CALLBACK_URL: 'https://b2b.example.com/hooks',
      B2B_PORTAL_CALLBACK_SECRET: SECRET,
    });
    expect(config.channelCallbacks).toEqual({ 'b2b-portal': { url: 'https://b2b.example.com/hooks', secrets: [SECRET] } });
    const error = refusal({ CHANNELS: 'b2b-portal', B2B_PORTAL_CALLBACK_URL: 'https://b2b.example.com/hooks' });
    expect(error.message).toContain('B2B_PORTAL_CALLBACK_SECRET');
  });
});

describe('callback worker settings', () => {
  it('defaults to the Standard Webhooks schedule and a 15 s timeout', () => {
    expect(loadConfig(base).callbacks).toEqual({
      timeoutMs: 15_000,
      schedule: [5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000],
      allowPrivate: false,
    });
  });

  it('parses CALLBACK_RETRY_SCHEDULE in ms, s, m and h', () => {
    expect(loadConfig({ ...base, CALLBACK_RETRY_SCHEDULE: '5s,5m,30m,2h' }).callbacks.schedule).toEqual([5_000, 300_000, 1_800_000, 7_200_000]);
    expect(loadConfig({ ...base, CALLBACK_RETRY_SCHEDULE: '100ms' }).callbacks.schedule).toEqual([100]);
    expect(loadConfig({ ...base, CALLBACK_RETRY_SCHEDULE: ' 250ms , 1s,2m ' }).callbacks.schedule).toEqual([250, 1_000, 120_000]);
  });

  it('refuses a bad schedule, naming the variable and not the value', () => {
    for (const bad of ['soon', '5', '5s,,5m', '5 s', '5sec', '-5s', '1.5s', '5s;5m', '']) {
      const error = refusal({ CALLBACK_RETRY_SCHEDULE: bad });
      expect(error.message, bad).toContain('CALLBACK_RETRY_SCHEDULE');
      if (bad.length > 1) expect(error.message, bad).not.toContain(bad);
    }
  });

  it('reads CALLBACK_TIMEOUT_MS and refuses a timeout below 1 ms', () => {
    expect(loadConfig({ ...base, CALLBACK_TIMEOUT_MS: '2500' }).callbacks.timeoutMs).toBe(2_500);
    expect(refusal({ CALLBACK_TIMEOUT_MS: '0' }).message).toContain('CALLBACK_TIMEOUT_MS');
    expect(refusal({ CALLBACK_TIMEOUT_MS: 'long' }).message).toContain('CALLBACK_TIMEOUT_MS');
  });
});
