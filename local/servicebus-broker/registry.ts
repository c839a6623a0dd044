/**
 * Node addresses and the queues behind them. Queues exist from first use, as with the official
 * emulator's auto-create: any entity address is a queue, `<queue>/$DeadLetterQueue` its
 * dead-letter sub-queue. Names are case-insensitive, as on the real service.
 */
import { Queue, type QueueOptions } from './queue';

const DEAD_LETTER_SUFFIX = '/$deadletterqueue';
const MANAGEMENT_SUFFIX = '/$management';

export type Endpoint = { kind: 'cbs' } | { kind: 'management'; entity: string } | { kind: 'entity'; entity: string };

export function classifyAddress(address: string): Endpoint {
  const path = address.replace(/^[a-z]+:\/\/[^/]+\//i, '').replace(/^\/+/, '');
  if (path === '$cbs') return { kind: 'cbs' };
  if (path.toLowerCase().endsWith(MANAGEMENT_SUFFIX)) {
    return { kind: 'management', entity: path.slice(0, -MANAGEMENT_SUFFIX.length) };
  }
  return { kind: 'entity', entity: path };
}

export class QueueRegistry {
  private readonly queues = new Map<string, Queue>(); // by lower-case name; main queues only

  constructor(private readonly defaults: QueueOptions) {}

  /** The queue or dead-letter sub-queue an entity path names, created if new. */
  resolve(entity: string): Queue {
    if (entity.toLowerCase().endsWith(DEAD_LETTER_SUFFIX)) {
      const main = this.queue(entity.slice(0, -DEAD_LETTER_SUFFIX.length));
      return main.deadLetterQueue ?? main;
    }
    return this.queue(entity);
  }

  /** The main queue of that name, created if new. */
  queue(name: string): Queue {
    const key = name.toLowerCase();
    const existing = this.queues.get(key);
    if (existing !== undefined) return existing;
    const deadLetter = new Queue(`${name}/$DeadLetterQueue`, deadLetterOptions(this.defaults));
    const created = new Queue(name, { ...this.defaults }, deadLetter);
    this.queues.set(key, created);
    return created;
  }

  find(name: string): Queue | undefined {
    return this.queues.get(name.toLowerCase());
  }

  setOptions(name: string, options: Partial<QueueOptions>): void {
    const queue = this.queue(name);
    queue.options = { ...queue.options, ...options };
    if (queue.deadLetterQueue !== undefined) queue.deadLetterQueue.options = deadLetterOptions(queue.options);
  }

  names(): string[] {
    return [...this.queues.values()].map((queue) => queue.name);
  }

  /** Main queues and their dead-letter queues. */
  all(): Queue[] {
    return [...this.queues.values()].flatMap((queue) => (queue.deadLetterQueue === undefined ? [queue] : [queue, queue.deadLetterQueue]));
  }
}

/** Dead-letter queues lock like their parent but never dead-letter further. */
function deadLetterOptions(parent: QueueOptions): QueueOptions {
  return { ...parent, maxDeliveryCount: Number.POSITIVE_INFINITY };
}
