/**
 * One Service Bus queue (or dead-letter sub-queue): storage, peek-lock bookkeeping, delivery
 * counting, scheduling and dead-lettering. Knows nothing about AMQP links; it talks to receivers
 * through the small `Consumer` interface.
 */
import {
  type DeliveryView,
  type MessageState,
  definedEntries,
  newLockToken,
  readableBody,
  scheduledEnqueueTime,
  withApplicationProperties,
} from './message-codec';
import type { AmqpMessage } from './rhea-interop';

export interface QueueOptions {
  /** Deliveries after which an abandoned or expired message is dead-lettered. */
  maxDeliveryCount: number;
  lockDurationMs: number;
}

export type ReceiveMode = 'peekLock' | 'receiveAndDelete';

/** A receiver as the queue sees it. */
export interface Consumer {
  readonly receiveMode: ReceiveMode;
  /** How many more messages the receiver will take right now. */
  credit(): number;
  /** Hands one message over; `lockToken` is set in peek-lock mode. */
  deliver(view: DeliveryView, lockToken: string | undefined): void;
}

type Properties = Record<string, unknown>;

export type Disposition =
  | { kind: 'complete' }
  | { kind: 'abandon'; properties?: Properties }
  | { kind: 'defer'; properties?: Properties }
  | { kind: 'deadLetter'; reason?: string; description?: string; properties?: Properties };

/** Errors that map onto the AMQP conditions the SDK turns into typed ServiceBusErrors. */
export class BrokerError extends Error {
  constructor(
    readonly condition: 'com.microsoft:message-lock-lost' | 'com.microsoft:message-not-found',
    message: string,
  ) {
    super(message);
  }
}

/** Counts in the sense of the Service Bus runtime properties. */
export interface QueueStats {
  /** Messages in the active state, locked or not (Service Bus "ActiveMessageCount"). */
  active: number;
  /** Active messages that are not locked: what the next receive can get. */
  available: number;
  /** Active or deferred messages currently held under a peek-lock. */
  locked: number;
  deferred: number;
  scheduled: number;
  /** Messages in the queue's dead-letter sub-queue. */
  deadLetter: number;
}

/** A read-only picture of one stored message, for tests and the admin tooling. */
export interface MessageSnapshot {
  sequenceNumber: number;
  messageId: unknown;
  state: MessageState;
  locked: boolean;
  deliveryCount: number;
  enqueuedTime: Date;
  body: unknown;
  applicationProperties: Properties;
}

interface StoredMessage {
  readonly sequenceNumber: number;
  enqueuedTime: number;
  message: AmqpMessage;
  state: MessageState;
  scheduledTime?: number;
  /** Times handed to a receiver so far; the next delivery reports this as its delivery count. */
  deliveryCount: number;
  lock?: { token: string; lockedUntil: number };
  deadLetterSource?: string;
}

export class Queue {
  private readonly messages = new Map<number, StoredMessage>(); // insertion order = sequence order
  private readonly locks = new Map<string, StoredMessage>();
  private consumers: Consumer[] = [];
  private nextConsumer = 0;
  private lastSequenceNumber = 0;

  /** `deadLetterQueue` is absent on a dead-letter queue itself: nothing is dead-lettered from it. */
  constructor(
    readonly name: string,
    public options: QueueOptions,
    readonly deadLetterQueue?: Queue,
  ) {}

  // --- producers --------------------------------------------------------------------------------

  /** Stores a message (scheduled when it carries a future scheduled-enqueue time); returns its sequence number. */
  enqueue(message: AmqpMessage, origin: { deliveryCount?: number; deadLetterSource?: string } = {}): number {
    const now = Date.now();
    const sequenceNumber = ++this.lastSequenceNumber;
    const scheduledTime = scheduledEnqueueTime(message);
    const scheduled = scheduledTime !== undefined && scheduledTime > now;
    this.messages.set(sequenceNumber, {
      sequenceNumber,
      enqueuedTime: now,
      message,
      state: scheduled ? 'scheduled' : 'active',
      scheduledTime: scheduled ? scheduledTime : undefined,
      deliveryCount: origin.deliveryCount ?? 0,
      deadLetterSource: origin.deadLetterSource,
    });
    this.pump();
    return sequenceNumber;
  }

  cancelScheduled(sequenceNumber: number): void {
    const stored = this.messages.get(sequenceNumber);
    if (stored?.state !== 'scheduled') {
      throw new BrokerError('com.microsoft:message-not-found', `No scheduled message ${sequenceNumber} here.`);
    }
    this.messages.delete(sequenceNumber);
  }

  // --- consumers --------------------------------------------------------------------------------

  addConsumer(consumer: Consumer): void {
    this.consumers.push(consumer);
    this.pump();
  }

  /** Locks held by a departing receiver stay until they expire, as on the real service. */
  removeConsumer(consumer: Consumer): void {
    this.consumers = this.consumers.filter((existing) => existing !== consumer);
    this.nextConsumer = 0;
  }

  /** Hands available messages, in sequence order, to receivers with credit, round robin. */
  pump(): void {
    if (this.consumers.length === 0) return;
    const now = Date.now();
    for (const stored of this.messages.values()) {
      if (!isAvailable(stored, now)) continue;
      const consumer = this.takeConsumerWithCredit();
      if (consumer === undefined) return;
      this.handOver(stored, consumer, now);
    }
  }

  private takeConsumerWithCredit(): Consumer | undefined {
    const count = this.consumers.length;
    for (let offset = 0; offset < count; offset++) {
      const index = (this.nextConsumer + offset) % count;
      const consumer = this.consumers[index];
      if (consumer !== undefined && consumer.credit() > 0) {
        this.nextConsumer = (index + 1) % count;
        return consumer;
      }
    }
    return undefined;
  }

  private handOver(stored: StoredMessage, consumer: Consumer, now: number): void {
    if (consumer.receiveMode === 'receiveAndDelete') {
      this.messages.delete(stored.sequenceNumber);
      consumer.deliver(this.deliveryView(stored), undefined);
      return;
    }
    const token = this.lock(stored, now);
    consumer.deliver(this.deliveryView(stored), token);
  }

  /** The view for a delivery happening now; counts the delivery. */
  private deliveryView(stored: StoredMessage): DeliveryView {
    const view = this.view(stored);
    stored.deliveryCount += 1;
    return view;
  }

  private view(stored: StoredMessage): DeliveryView {
    return {
      message: stored.message,
      sequenceNumber: stored.sequenceNumber,
      enqueuedTime: stored.enqueuedTime,
      state: stored.state,
      deliveryCount: stored.deliveryCount,
      lockedUntil: stored.lock?.lockedUntil,
      deadLetterSource: stored.deadLetterSource,
    };
  }

  // --- locks and settlement ---------------------------------------------------------------------

  private lock(stored: StoredMessage, now: number): string {
    const token = newLockToken();
    stored.lock = { token, lockedUntil: now + this.options.lockDurationMs };
    this.locks.set(token, stored);
    return token;
  }

  private lockedMessage(token: string): StoredMessage {
    const stored = this.locks.get(token);
    if (stored?.lock === undefined) {
      throw new BrokerError('com.microsoft:message-lock-lost', `Lock ${token} is not held (expired or settled).`);
    }
    if (stored.lock.lockedUntil <= Date.now()) {
      this.expireLock(stored); // the poller may not have seen it yet
      this.pump();
      throw new BrokerError('com.microsoft:message-lock-lost', `The lock ${token} expired.`);
    }
    return stored;
  }

  private unlock(stored: StoredMessage): void {
    if (stored.lock !== undefined) this.locks.delete(stored.lock.token);
    stored.lock = undefined;
  }

  /** Renews a peek-lock for another lock duration; returns the new expiry. */
  renewLock(token: string): number {
    const stored = this.lockedMessage(token);
    const lockedUntil = Date.now() + this.options.lockDurationMs;
    stored.lock = { token, lockedUntil };
    return lockedUntil;
  }

  /** Throws BrokerError(message-lock-lost) when the lock is gone. */
  settle(token: string, disposition: Disposition): void {
    const stored = this.lockedMessage(token);
    this.unlock(stored);
    if (disposition.kind !== 'complete' && disposition.properties !== undefined) {
      stored.message = withApplicationProperties(stored.message, disposition.properties);
    }
    switch (disposition.kind) {
      case 'complete':
        this.messages.delete(stored.sequenceNumber);
        break;
      case 'abandon':
        this.returnAfterFailedDelivery(stored);
        break;
      case 'defer':
        stored.state = 'deferred';
        break;
      case 'deadLetter':
        this.deadLetter(stored, disposition.reason, disposition.description);
        break;
    }
    this.pump();
  }

  private expireLock(stored: StoredMessage): void {
    this.unlock(stored);
    this.returnAfterFailedDelivery(stored);
  }

  /** An abandoned or lock-expired delivery: back in the queue, or dead-lettered once too many. */
  private returnAfterFailedDelivery(stored: StoredMessage): void {
    const max = this.options.maxDeliveryCount;
    if (this.deadLetterQueue !== undefined && stored.deliveryCount >= max) {
      const description = `Message could not be consumed after ${max} delivery attempts.`;
      this.deadLetter(stored, 'MaxDeliveryCountExceeded', description);
    }
  }

  private deadLetter(stored: StoredMessage, reason?: string, description?: string): void {
    // A dead-letter queue has no dead-letter queue of its own: the message simply stays.
    if (this.deadLetterQueue === undefined) return;
    this.messages.delete(stored.sequenceNumber);
    const properties = definedEntries({ DeadLetterReason: reason, DeadLetterErrorDescription: description });
    this.deadLetterQueue.enqueue(withApplicationProperties(stored.message, properties), {
      deliveryCount: stored.deliveryCount,
      deadLetterSource: this.name,
    });
  }

  // --- deferred messages, peeking, housekeeping -------------------------------------------------

  /** Deferred messages by sequence number, locked (peek-lock) or removed (receive-and-delete). */
  receiveDeferred(sequenceNumbers: number[], mode: ReceiveMode): Array<{ view: DeliveryView; lockToken?: string }> {
    const now = Date.now();
    const found = sequenceNumbers.map((sequenceNumber) => {
      const stored = this.messages.get(sequenceNumber);
      if (stored?.state !== 'deferred' || stored.lock !== undefined) {
        throw new BrokerError('com.microsoft:message-not-found', `No deferred message ${sequenceNumber} here.`);
      }
      return stored;
    });
    return found.map((stored) => {
      if (mode === 'receiveAndDelete') {
        this.messages.delete(stored.sequenceNumber);
        return { view: this.deliveryView(stored) };
      }
      const lockToken = this.lock(stored, now);
      return { view: this.deliveryView(stored), lockToken };
    });
  }

  /** Messages from a sequence number on, in every state, without locking them. */
  peek(fromSequenceNumber: number, maxCount: number): DeliveryView[] {
    const now = Date.now();
    const views: DeliveryView[] = [];
    for (const stored of this.messages.values()) {
      if (views.length >= maxCount) break;
      if (stored.sequenceNumber >= fromSequenceNumber && !isExpired(stored, now)) views.push(this.view(stored));
    }
    return views;
  }

  /** Called by the broker's poller: expires locks and time-to-live, releases scheduled messages. */
  tick(): void {
    const now = Date.now();
    let changed = false;
    for (const stored of [...this.messages.values()]) {
      if (stored.lock !== undefined) {
        if (stored.lock.lockedUntil > now) continue;
        this.expireLock(stored);
        changed = true;
      } else if (stored.state === 'scheduled' && (stored.scheduledTime ?? 0) <= now) {
        stored.state = 'active';
        stored.enqueuedTime = now;
        changed = true;
      } else if (isExpired(stored, now)) {
        this.messages.delete(stored.sequenceNumber);
        changed = true;
      }
    }
    if (changed) this.pump();
  }

  stats(): QueueStats {
    const stats: QueueStats = { active: 0, available: 0, locked: 0, deferred: 0, scheduled: 0, deadLetter: 0 };
    for (const stored of this.messages.values()) {
      if (stored.lock !== undefined) stats.locked += 1;
      if (stored.state === 'active') stats.active += 1;
      if (stored.state === 'active' && stored.lock === undefined) stats.available += 1;
      if (stored.state === 'deferred') stats.deferred += 1;
      if (stored.state === 'scheduled') stats.scheduled += 1;
    }
    stats.deadLetter = this.deadLetterQueue?.size() ?? 0;
    return stats;
  }

  size(): number {
    return this.messages.size;
  }

  snapshot(): MessageSnapshot[] {
    return [...this.messages.values()].map((stored) => ({
      sequenceNumber: stored.sequenceNumber,
      messageId: stored.message.message_id,
      state: stored.state,
      locked: stored.lock !== undefined,
      deliveryCount: stored.deliveryCount,
      enqueuedTime: new Date(stored.enqueuedTime),
      body: readableBody(stored.message),
      applicationProperties: { ...stored.message.application_properties },
    }));
  }
}

function isAvailable(stored: StoredMessage, now: number): boolean {
  return stored.state === 'active' && stored.lock === undefined && !isExpired(stored, now);
}

/** Time to live counts from enqueue (or activation, for scheduled messages). */
function isExpired(stored: StoredMessage, now: number): boolean {
  const ttl = stored.message.ttl;
  return stored.state !== 'scheduled' && typeof ttl === 'number' && ttl > 0 && stored.enqueuedTime + ttl <= now;
}
