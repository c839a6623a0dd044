import type { CallbackEvent, CallbackTransport, DeliveryAttempt } from '../../../shared/platform/callbacks';
import { type ShopUpdate, shopUpdateSchema } from '../app/shop-updates';
import { WooCommerceError, type WooCommerceClient } from './woocommerce-client';

/** How far along an order is in the shop: a status is only ever moved forward. */
const RANK: Record<string, number> = { pending: 0, 'on-hold': 0, failed: 0, 'checkout-draft': 0, processing: 1, completed: 2, refunded: 3, cancelled: 3 };
const rank = (status: string) => RANK[status] ?? 0;

/** The tag a note or refund of one update carries, so a retry finds what an earlier attempt wrote. */
export const shopTag = (eventId: string) => `[order-hub ${eventId}]`;

/**
 * The `woocommerce` channel's transport when the shop's API is configured: it writes a shop update
 * (`shopUpdates`) into the shop instead of posting a signed event. The order is read first and every
 * write is skipped when the shop already shows it — a status at or past the one asked for, a refund
 * or note carrying the update's tag — so a retry after a lost answer never adds a second note or refund.
 * The shop's answers map onto the worker's: 2xx delivered, 5xx/429/timeouts retried, 401/404 refused.
 */
export class WooCommerceTransport implements CallbackTransport {
  constructor(
    private readonly client: WooCommerceClient,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async post(_endpoint: unknown, event: CallbackEvent): Promise<DeliveryAttempt> {
    const started = this.now();
    const attempt = (outcome: Omit<DeliveryAttempt, 'at' | 'durationMs'>): DeliveryAttempt => ({
      at: started.toISOString(),
      durationMs: Math.max(0, this.now().getTime() - started.getTime()),
      ...outcome,
    });
    const parsed = shopUpdateSchema.safeParse(event.data);
    // Only the slice queues these events: anything else is a defect no retry can mend.
    if (!parsed.success) return attempt({ statusCode: 422, error: `event ${event.id} is not a shop update` });
    try {
      const done = await this.apply(event.id, parsed.data);
      return attempt({ statusCode: 200, response: done.length > 0 ? done.join('; ') : 'the shop already showed this update' });
    } catch (error) {
      if (!(error instanceof WooCommerceError)) throw error;
      return attempt({
        ...(error.status !== undefined ? { statusCode: error.status } : {}),
        error: error.message,
        ...(error.retryAfterMs !== undefined ? { retryAfterMs: error.retryAfterMs } : {}),
      });
    }
  }

  /** Writes what the shop does not show yet; answers what was written. */
  private async apply(eventId: string, update: ShopUpdate): Promise<string[]> {
    const tag = shopTag(eventId);
    const id = update.shopOrderId;
    const order = await this.client.getOrder(id);
    const done: string[] = [];
    if (update.status && rank(update.status) > rank(order.status)) {
      await this.client.setStatus(id, update.status);
      done.push(`status ${order.status} -> ${update.status}`);
    }
    if (update.refund && !order.refunds.some((refund) => refund.reason?.includes(tag))) {
      await this.client.createRefund(id, { amount: update.refund.amount, reason: `${update.refund.reason} ${tag}` });
      done.push(`refund ${update.refund.amount}`);
    }
    const notes = await this.client.listNotes(id);
    if (!notes.some((note) => note.note.includes(tag))) {
      await this.client.addNote(id, `${update.note} ${tag}`);
      done.push('note');
    }
    return done;
  }
}
