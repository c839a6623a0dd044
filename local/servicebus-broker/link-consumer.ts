/**
 * A client receiver link, seen from the broker: a rhea sender that the queue hands messages to.
 */
import { randomBytes } from 'node:crypto';
import { type DeliveryView, encodeForDelivery, lockTokenToDeliveryTag } from './message-codec';
import type { Consumer, Queue, ReceiveMode } from './queue';
import { type Delivery, type Sender, linkCredit } from './rhea-interop';

/** Format 0 tells rhea the payload is an already encoded message. */
const PLAIN_MESSAGE_FORMAT = 0;

export class LinkConsumer implements Consumer {
  /**
   * Deliveries handed to rhea that it has not transmitted yet. rhea takes credit off only when
   * it writes the transfer (on the next tick), so without this a burst would overrun the credit.
   */
  private untransmitted = 0;

  constructor(
    readonly sender: Sender,
    readonly queue: Queue,
    readonly receiveMode: ReceiveMode,
    private readonly onLockedDelivery: (delivery: Delivery, lockToken: string) => void,
  ) {}

  credit(): number {
    return this.sender.is_open() ? Math.max(0, linkCredit(this.sender) - this.untransmitted) : 0;
  }

  deliver(view: DeliveryView, lockToken: string | undefined): void {
    // The tag of a peek-locked delivery is its lock token; others just need a unique tag.
    const tag = lockToken === undefined ? randomBytes(16) : lockTokenToDeliveryTag(lockToken);
    const delivery = this.sender.send(encodeForDelivery(view), tag, PLAIN_MESSAGE_FORMAT);
    if (lockToken !== undefined) this.onLockedDelivery(delivery, lockToken);
    this.untransmitted += 1;
    // rhea queued its own write for this tick before we get here, so by the time this runs the
    // transfer is on the wire and linkCredit() is accurate again.
    if (this.untransmitted === 1) process.nextTick(() => (this.untransmitted = 0));
  }
}
