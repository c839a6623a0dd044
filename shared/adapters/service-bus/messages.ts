import type { ServiceBusMessage, ServiceBusReceivedMessage } from '@azure/service-bus';
import { randomUUID } from 'node:crypto';
import type { JobEnvelope } from '../../platform/jobs';
import type { ReceivedMessage } from '../../function-table';

/** Application properties that let an admin filter dead letters without parsing bodies. */
export const JOB_TYPE_PROPERTY = 'jobType';
export const JOB_SUBJECT_PROPERTY = 'jobSubject';

/** One Service Bus message per envelope; every send gets its own message id (the job id is in the body). */
export function toServiceBusMessage(envelope: JobEnvelope): ServiceBusMessage {
  return {
    messageId: randomUUID(),
    body: envelope,
    contentType: 'application/json',
    subject: envelope.type,
    correlationId: envelope.correlation.operationId,
    applicationProperties: {
      [JOB_TYPE_PROPERTY]: envelope.type,
      [JOB_SUBJECT_PROPERTY]: envelope.subject,
      attempt: envelope.attempt,
    },
  };
}

/** The host-independent view of a received message. */
export function toReceivedMessage(message: ServiceBusReceivedMessage): ReceivedMessage {
  return {
    messageId: String(message.messageId ?? ''),
    body: message.body,
    deliveryCount: message.deliveryCount ?? 0,
    enqueuedTime: message.enqueuedTimeUtc,
    applicationProperties: (message.applicationProperties ?? {}) as Record<string, unknown>,
  };
}
