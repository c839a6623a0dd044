import type { ServiceBusClient, ServiceBusSender } from '@azure/service-bus';
import type { JobSender, OutgoingJob } from '../../platform/jobs';
import { toServiceBusMessage } from './messages';

/** Sends jobs to Service Bus queues: immediate ones in one batch per queue, delayed ones scheduled. */
export class ServiceBusJobSender implements JobSender {
  private readonly senders = new Map<string, ServiceBusSender>();

  constructor(private readonly client: ServiceBusClient) {}

  async send(jobs: OutgoingJob[]): Promise<void> {
    const byQueue = new Map<string, OutgoingJob[]>();
    for (const job of jobs) byQueue.set(job.queue, [...(byQueue.get(job.queue) ?? []), job]);
    await Promise.all([...byQueue].map(([queue, queued]) => this.sendToQueue(queue, queued)));
  }

  async close(): Promise<void> {
    await Promise.all([...this.senders.values()].map((sender) => sender.close()));
    this.senders.clear();
  }

  private sender(queue: string): ServiceBusSender {
    let sender = this.senders.get(queue);
    if (!sender) {
      sender = this.client.createSender(queue);
      this.senders.set(queue, sender);
    }
    return sender;
  }

  private async sendToQueue(queue: string, jobs: OutgoingJob[]): Promise<void> {
    const sender = this.sender(queue);
    const now = Date.now();
    const immediate = jobs.filter((job) => !job.notBefore || job.notBefore.getTime() <= now);
    const delayed = jobs.filter((job) => job.notBefore && job.notBefore.getTime() > now);
    if (immediate.length > 0) await sender.sendMessages(immediate.map((job) => toServiceBusMessage(job.envelope)));
    for (const job of delayed) {
      await sender.scheduleMessages(toServiceBusMessage(job.envelope), job.notBefore as Date);
    }
  }
}
