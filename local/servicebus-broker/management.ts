/**
 * The `<entity>/$management` request/response operations the SDK uses for peeking, lock renewal,
 * scheduling, deferred messages and settlement of messages whose receive link is gone.
 */
import { encodeForDelivery, lockTokenFromWire, sequenceNumberFromWire, uuidBytes, withMessageId } from './message-codec';
import { BrokerError, type Disposition, type Queue } from './queue';
import { type AmqpMessage, amqpTypes, decodeMessage } from './rhea-interop';

export interface ManagementReply {
  statusCode: number;
  description?: string;
  errorCondition?: string;
  body?: unknown;
}

type RequestBody = Record<string, unknown>;
type Operation = (queue: Queue, body: RequestBody) => ManagementReply;

const operations: Record<string, Operation> = {
  'com.microsoft:peek-message': peek,
  'com.microsoft:renew-lock': renewLocks,
  'com.microsoft:schedule-message': schedule,
  'com.microsoft:cancel-scheduled-message': cancelScheduled,
  'com.microsoft:receive-by-sequence-number': receiveBySequenceNumber,
  'com.microsoft:update-disposition': updateDisposition,
};

const statusOfCondition: Record<BrokerError['condition'], number> = {
  'com.microsoft:message-lock-lost': 410,
  'com.microsoft:message-not-found': 404,
};

export function handleManagementRequest(queue: Queue, request: AmqpMessage): ManagementReply {
  const name = String(request.application_properties?.operation ?? '');
  const operation = operations[name];
  if (operation === undefined) {
    return {
      statusCode: 501,
      errorCondition: 'amqp:not-implemented',
      description: `The local Service Bus broker does not implement '${name}'.`,
    };
  }
  try {
    return operation(queue, asRecord(request.body));
  } catch (error) {
    if (error instanceof BrokerError) {
      const statusCode = statusOfCondition[error.condition];
      return { statusCode, errorCondition: error.condition, description: error.message };
    }
    return { statusCode: 500, errorCondition: 'amqp:internal-error', description: String(error) };
  }
}

function peek(queue: Queue, body: RequestBody): ManagementReply {
  const from = sequenceNumberFromWire(body['from-sequence-number']) ?? 1;
  const count = typeof body['message-count'] === 'number' ? body['message-count'] : 1;
  const views = queue.peek(from, count);
  // The SDK reads 204 as "nothing to peek" and does not look at the body then.
  if (views.length === 0) return { statusCode: 204 };
  return { statusCode: 200, body: { messages: views.map((view) => ({ message: encodeForDelivery(view) })) } };
}

function renewLocks(queue: Queue, body: RequestBody): ManagementReply {
  const expirations = lockTokens(body).map((token) => new Date(queue.renewLock(token)));
  return { statusCode: 200, body: { expirations } };
}

function schedule(queue: Queue, body: RequestBody): ManagementReply {
  const entries = asArray(body.messages).map(asRecord);
  const sequenceNumbers = entries.flatMap((entry) => {
    const bytes = entry.message;
    if (!Buffer.isBuffer(bytes)) return [];
    // The SDK has already put x-opt-scheduled-enqueue-time on each message.
    return [queue.enqueue(withMessageId(decodeMessage(bytes)))];
  });
  return { statusCode: 200, body: { 'sequence-numbers': sequenceNumbers } };
}

function cancelScheduled(queue: Queue, body: RequestBody): ManagementReply {
  for (const sequenceNumber of sequenceNumbers(body)) queue.cancelScheduled(sequenceNumber);
  return { statusCode: 200 };
}

function receiveBySequenceNumber(queue: Queue, body: RequestBody): ManagementReply {
  // receiver-settle-mode 0 is receive-and-delete, 1 peek-lock (SDK convention).
  const mode = body['receiver-settle-mode'] === 0 ? 'receiveAndDelete' : 'peekLock';
  const received = queue.receiveDeferred(sequenceNumbers(body), mode);
  const messages = received.map(({ view, lockToken }) => {
    const entry: Record<string, unknown> = { message: encodeForDelivery(view) };
    if (lockToken !== undefined) entry['lock-token'] = amqpTypes.wrap_uuid(uuidBytes(lockToken));
    return entry;
  });
  return { statusCode: 200, body: { messages } };
}

function updateDisposition(queue: Queue, body: RequestBody): ManagementReply {
  const disposition = dispositionOf(body);
  for (const token of lockTokens(body)) queue.settle(token, disposition);
  return { statusCode: 200 };
}

function dispositionOf(body: RequestBody): Disposition {
  const properties = optionalRecord(body['properties-to-modify']);
  switch (body['disposition-status']) {
    case 'completed':
      return { kind: 'complete' };
    case 'defered': // sic: the SDK's spelling
      return { kind: 'defer', properties };
    case 'suspended':
      return {
        kind: 'deadLetter',
        reason: optionalString(body['deadletter-reason']),
        description: optionalString(body['deadletter-description']),
        properties,
      };
    default:
      return { kind: 'abandon', properties };
  }
}

// --- request body readers ----------------------------------------------------------------------

function lockTokens(body: RequestBody): string[] {
  return asArray(body['lock-tokens']).flatMap((value) => lockTokenFromWire(value) ?? []);
}

function sequenceNumbers(body: RequestBody): number[] {
  return asArray(body['sequence-numbers']).flatMap((value) => sequenceNumberFromWire(value) ?? []);
}

function asArray(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

function asRecord(value: unknown): RequestBody {
  return value !== null && typeof value === 'object' && !Buffer.isBuffer(value) ? (value as RequestBody) : {};
}

function optionalRecord(value: unknown): RequestBody | undefined {
  return value !== null && typeof value === 'object' && !Buffer.isBuffer(value) ? (value as RequestBody) : undefined;
}

function optionalString(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}
