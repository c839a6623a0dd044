/**
 * Translation between what the SDK puts on the wire and what the broker stores, and back.
 * Messages are kept as rhea-decoded objects; only the broker-owned parts (header delivery count,
 * x-opt-* annotations, dead-letter properties) are rewritten on the way out.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { type AmqpMessage, amqpTypes, decodeMessage, encodeMessage } from './rhea-interop';

/** Message format of a batch transfer: an envelope whose data sections are encoded messages. */
export const BATCH_MESSAGE_FORMAT = 0x80013700;

export const Annotation = {
  sequenceNumber: 'x-opt-sequence-number',
  enqueuedTime: 'x-opt-enqueued-time',
  lockedUntil: 'x-opt-locked-until',
  scheduledEnqueueTime: 'x-opt-scheduled-enqueue-time',
  deadLetterSource: 'x-opt-deadletter-source',
  messageState: 'x-opt-message-state',
} as const;

/** Values of x-opt-message-state as the SDK maps them (0 active, 1 deferred, 2 scheduled). */
export const MessageStateCode = { active: 0, deferred: 1, scheduled: 2 } as const;
export type MessageState = keyof typeof MessageStateCode;

/** Everything a delivery needs that is not part of the stored message itself. */
export interface DeliveryView {
  message: AmqpMessage;
  sequenceNumber: number;
  enqueuedTime: number;
  state: MessageState;
  deliveryCount: number;
  lockedUntil?: number;
  deadLetterSource?: string;
}

/** Messages carried by one transfer: one, or several when the SDK sent a batch. */
export function messagesOfTransfer(payload: AmqpMessage | Buffer, format: number | undefined): AmqpMessage[] {
  if (format === BATCH_MESSAGE_FORMAT && Buffer.isBuffer(payload)) {
    return dataSections(decodeMessage(payload)).map(decodeMessage);
  }
  return [payload as AmqpMessage];
}

/** rhea decodes data sections into a Section object ({ content, multiple }). */
function dataSections(envelope: AmqpMessage): Buffer[] {
  const body = envelope.body;
  if (!isBodySection(body)) return [];
  const content = body.content;
  if (Buffer.isBuffer(content)) return [content];
  return Array.isArray(content) ? content.filter((part): part is Buffer => Buffer.isBuffer(part)) : [];
}

/**
 * Settling fails in the SDK ("no message ID") for messages without one, and the real service
 * always assigns one, so the broker does too.
 */
export function withMessageId(message: AmqpMessage): AmqpMessage {
  return message.message_id === undefined || message.message_id === null ? { ...message, message_id: randomUUID().replace(/-/g, '') } : message;
}

export function scheduledEnqueueTime(message: AmqpMessage): number | undefined {
  const value = message.message_annotations?.[Annotation.scheduledEnqueueTime];
  if (value instanceof Date) return value.getTime();
  return typeof value === 'number' ? value : undefined;
}

export function encodeForDelivery(view: DeliveryView): Buffer {
  const annotations: Record<string, unknown> = {
    ...view.message.message_annotations,
    [Annotation.sequenceNumber]: amqpTypes.wrap_long(view.sequenceNumber),
    [Annotation.enqueuedTime]: new Date(view.enqueuedTime),
    [Annotation.messageState]: amqpTypes.wrap_int(MessageStateCode[view.state]),
  };
  if (view.lockedUntil !== undefined) annotations[Annotation.lockedUntil] = new Date(view.lockedUntil);
  if (view.deadLetterSource !== undefined) annotations[Annotation.deadLetterSource] = view.deadLetterSource;
  return encodeMessage({
    ...view.message,
    message_annotations: annotations,
    delivery_count: view.deliveryCount,
  });
}

export function withApplicationProperties(message: AmqpMessage, properties: Record<string, unknown>): AmqpMessage {
  return { ...message, application_properties: { ...message.application_properties, ...properties } };
}

/** Only defined values: rhea would encode undefined as an explicit null. */
export function definedEntries(record: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(record).filter(([, value]) => value !== undefined && value !== null));
}

// --- lock tokens -------------------------------------------------------------------------------

/**
 * Lock tokens are GUIDs. The SDK reads a link delivery tag in .NET byte order (it swaps bytes
 * 0-3, 4-5 and 6-7 before printing it) but sends tokens back, and reads tokens from management
 * replies, in plain RFC 4122 order. The broker keys locks by that plain string and flips the
 * bytes only when it uses a token as a delivery tag.
 */
export function newLockToken(): string {
  return formatUuid(randomBytes(16));
}

export function lockTokenToDeliveryTag(token: string): Buffer {
  return dotNetGuidOrder(uuidBytes(token));
}

export function uuidBytes(token: string): Buffer {
  return Buffer.from(token.replace(/-/g, ''), 'hex');
}

export function formatUuid(bytes: Buffer): string {
  const hex = bytes.toString('hex');
  return [hex.slice(0, 8), hex.slice(8, 12), hex.slice(12, 16), hex.slice(16, 20), hex.slice(20)].join('-');
}

function dotNetGuidOrder(bytes: Buffer): Buffer {
  const order = [3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15];
  return Buffer.from(order.map((index) => bytes[index] ?? 0));
}

/** Lock tokens arrive as uuid-typed values (Buffers) or, from some clients, as strings. */
export function lockTokenFromWire(value: unknown): string | undefined {
  if (Buffer.isBuffer(value) && value.length === 16) return formatUuid(value);
  if (typeof value === 'string') return value.toLowerCase();
  return undefined;
}

/** AMQP longs decode to numbers, or to 8-byte big-endian Buffers outside 2^53. */
export function sequenceNumberFromWire(value: unknown): number | undefined {
  if (typeof value === 'number') return value;
  if (Buffer.isBuffer(value) && value.length === 8) return Number(value.readBigInt64BE(0));
  return undefined;
}

// --- read-only views for inspection ------------------------------------------------------------

/** Best-effort readable body: JSON data sections parsed, other data as UTF-8, values as-is. */
export function readableBody(message: AmqpMessage): unknown {
  const body = message.body;
  if (!isBodySection(body)) return body;
  if (body.typecode !== 0x75 || !Buffer.isBuffer(body.content)) return body.content;
  const text = body.content.toString('utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** rhea keeps data and sequence bodies in a Section ({ typecode, content }); values are bare. */
function isBodySection(body: unknown): body is { typecode: number; content: unknown } {
  return typeof body === 'object' && body !== null && typeof (body as { typecode?: unknown }).typecode === 'number';
}
