import { describe, expect, it } from 'vitest';
import { nextSlot, WALKTHROUGH_END, type WalkthroughTargets, walkthroughScript } from '../../local/walkthrough';

const everything: WalkthroughTargets = {
  api: 'http://127.0.0.1:7071/api',
  stripe: { url: 'http://127.0.0.1:12111', secretKey: 'sk_test_local_sandbox' },
  keys: { admin: 'ohk_admin', workshop: 'ohk_workshop', orders: 'ohk_orders' },
  driver: 'http://127.0.0.1:7072',
  odoo: 'http://127.0.0.1:8069',
  btcpay: 'http://127.0.0.1:14142',
  channel: 'http://127.0.0.1:7073',
  woocommerce: { url: 'http://127.0.0.1:8088', consumerKey: 'ck_local', consumerSecret: 'cs_local' },
  mailPrinted: true,
  slot: { start: '2030-01-07T09:00:00+01:00', end: '2030-01-07T11:00:00+01:00' },
  xmlrpcModule: '/repo/node_modules/xmlrpc/lib/xmlrpc.js',
};

describe('the walk-through text', () => {
  it('with every sandbox: every step, literal addresses and keys, ending in its marker', () => {
    const script = walkthroughScript(everything);
    expect(script).not.toMatch(/left out|undefined/);
    expect(script.trimEnd().endsWith(WALKTHROUGH_END)).toBe(true);
    expect(script).toContain(
      'curl -sS --fail-with-body -u sk_test_local_sandbox: http://127.0.0.1:12111/v1/payment_intents/$PI/confirm -d payment_method=pm_card_visa',
    );
    expect(script).toContain('-H "Authorization: Bearer ohk_workshop"');
    expect(script).toContain('"http://127.0.0.1:7072/trips?bookingId=$BOOKING2&type=b2c_pickup"');
    expect(script).toContain('-u ck_local:cs_local http://127.0.0.1:8088/wp-json/wc/v3/orders/$SHOP_ORDER/notes');
    expect(script.match(/^# \d+\. /gm)).toHaveLength(16);
  });

  it('without the Driver-App, Odoo, BTCPay, channel and WooCommerce sandboxes: says which steps are left out and why, and uses nothing it did not define', () => {
    const script = walkthroughScript({
      ...everything,
      driver: undefined,
      odoo: undefined,
      btcpay: undefined,
      channel: undefined,
      woocommerce: undefined,
      mailPrinted: false,
    });
    expect(script).toContain('left out, no WooCommerce sandbox runs (WOOCOMMERCE_URL names your shop, or WOOCOMMERCE_SANDBOX=off)');
    expect(script).not.toContain('SHOP_ORDER');
    expect(script).not.toContain('undefined');
    expect(script).not.toContain('odoo_moves');
    expect(script).not.toContain('/trips');
    expect(script).toContain('# 4. the invoice in Odoo, paid: left out, no Odoo sandbox runs');
    expect(script).toContain('left out, no Driver-App sandbox runs (DRIVER_APP_WEBHOOK_URL or DRIVER_APP_MANUAL=true)');
    expect(script).toContain('left out, no BTCPay sandbox runs');
    expect(script).toContain('the confirmation e-mail goes to SMTP_URL');
    // Booking, paying and cancelling still run: they need only the hub and Stripe.
    expect(script).toContain('/v1/bookings/$BOOKING2/cancel');
  });

  it('picks a slot the default opening hours take: tomorrow, or Monday instead of a Sunday', () => {
    expect(nextSlot(new Date('2030-01-05T12:00:00Z'))).toEqual({ start: '2030-01-07T09:00:00+01:00', end: '2030-01-07T11:00:00+01:00' });
    expect(nextSlot(new Date('2030-01-07T23:30:00Z'))).toEqual({ start: '2030-01-08T09:00:00+01:00', end: '2030-01-08T11:00:00+01:00' });
  });
});
