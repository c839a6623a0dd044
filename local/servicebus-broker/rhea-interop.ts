/**
 * The one place that touches rhea's untyped corners. rhea's typings leave out fields the broker
 * needs on the server side (link credit, the local attach frame, delivery bookkeeping), and its
 * outcome objects are composite wrappers. Every cast lives here so the rest of the broker is
 * plain, strictly typed TypeScript.
 */
import rhea from 'rhea';
import type { Connection, Delivery, Message, Receiver, Sender, Typed } from 'rhea';

export type { Connection, Delivery, Message, Receiver, Sender, Typed };
export type Link = Sender | Receiver;

/** rhea exports its codec helpers on the default export only (it is a CommonJS instance). */
export const amqpTypes = rhea.types;
export const amqpMessage = rhea.message;
export const createContainer = rhea.create_container.bind(rhea);

/** AMQP message as rhea decodes it: header and properties fields flattened onto the object. */
export interface AmqpMessage {
  message_id?: unknown;
  correlation_id?: unknown;
  reply_to?: string;
  to?: string;
  subject?: string;
  content_type?: string;
  group_id?: string;
  ttl?: number;
  delivery_count?: number;
  application_properties?: Record<string, unknown>;
  message_annotations?: Record<string, unknown>;
  body?: unknown;
  [field: string]: unknown;
}

/** Hidden link state that rhea keeps but does not type. */
interface LinkInternals {
  credit: number;
  local: { attach: Record<string, unknown> };
}

interface DeliveryInternals {
  remote_settled: boolean;
}

/** The message of a 'message' event: rhea types it loosely (and gives raw bytes for batches). */
export function asAmqpMessage(message: unknown): AmqpMessage {
  return (message ?? {}) as AmqpMessage;
}

/** Sends a message object; rhea's Message type insists on fields a reply does not need. */
export function sendMessage(sender: Sender, message: AmqpMessage): Delivery {
  return sender.send(message as Message);
}

export function decodeMessage(bytes: Buffer): AmqpMessage {
  return amqpMessage.decode(bytes) as AmqpMessage;
}

export function encodeMessage(message: AmqpMessage): Buffer {
  return amqpMessage.encode(message);
}

export function remoteSourceAddress(link: Link): string | undefined {
  return link.source?.address ?? undefined;
}

export function remoteTargetAddress(link: Link): string | undefined {
  return link.target?.address ?? undefined;
}

/**
 * Completes the attach the peer started. A rhea server answers with null terminus addresses
 * unless told otherwise, which the SDK reads as "link refused"; it also needs the peer's settle
 * modes mirrored (peek-lock relies on rcv_settle_mode=second) and a max_message_size, from which
 * the SDK sizes message batches.
 */
export function acceptAttach(link: Link, maxMessageSize: number): void {
  const source = remoteSourceAddress(link);
  const target = remoteTargetAddress(link);
  link.set_source({ address: source ?? '' });
  link.set_target({ address: target ?? '' });
  const attach = (link as unknown as LinkInternals).local.attach;
  attach.snd_settle_mode = link.snd_settle_mode;
  attach.rcv_settle_mode = link.rcv_settle_mode;
  attach.max_message_size = maxMessageSize;
}

/** Credit the peer has granted and that rhea has not yet used up on transmitted deliveries. */
export function linkCredit(link: Sender): number {
  return (link as unknown as LinkInternals).credit;
}

/**
 * Settles a delivery we sent, with the given outcome. In rcv-settle-mode "second" the peer does
 * not settle again after us, so rhea would keep the delivery in the session's ring buffer
 * (2048 slots) forever; marking it remotely settled lets rhea drop it.
 */
export function settleOutgoing(delivery: Delivery, outcome: Typed): void {
  delivery.update(true, outcome);
  (delivery as unknown as DeliveryInternals).remote_settled = true;
}

/** rhea defines the outcome constructors at run time; its typings do not list them. */
interface OutcomeFactories {
  accepted(): { described(): Typed };
  rejected(fields: object): { described(): Typed };
  modified(fields: object): { described(): Typed };
}
const outcomes = amqpMessage as unknown as OutcomeFactories;

export function acceptedOutcome(): Typed {
  return outcomes.accepted().described();
}

export function rejectedOutcome(condition?: string, description?: string): Typed {
  const fields = condition === undefined ? {} : { error: { condition, description } };
  return outcomes.rejected(fields).described();
}

export function modifiedOutcome(undeliverableHere: boolean): Typed {
  return outcomes.modified({ undeliverable_here: undeliverableHere }).described();
}

/** What a receiver told us about a delivery, as the broker cares about it. */
export type RemoteOutcome =
  | { kind: 'accepted' }
  | { kind: 'released' }
  | { kind: 'modified'; undeliverableHere: boolean; annotations?: Record<string, unknown> }
  | { kind: 'rejected'; condition?: string; description?: string; info?: Record<string, unknown> };

interface OutcomeShape {
  constructor: { composite_type?: string };
  undeliverable_here?: boolean | null;
  message_annotations?: Record<string, unknown> | null;
  error?: { condition?: string | null; description?: string | null; info?: unknown } | null;
}

export function readRemoteOutcome(delivery: Delivery): RemoteOutcome | undefined {
  const state = delivery.remote_state as OutcomeShape | undefined;
  switch (state?.constructor.composite_type) {
    case 'accepted':
      return { kind: 'accepted' };
    case 'released':
      return { kind: 'released' };
    case 'modified':
      return {
        kind: 'modified',
        undeliverableHere: state.undeliverable_here === true,
        annotations: state.message_annotations ?? undefined,
      };
    case 'rejected':
      return {
        kind: 'rejected',
        condition: state.error?.condition ?? undefined,
        description: state.error?.description ?? undefined,
        info: plainRecord(state.error?.info),
      };
    default:
      return undefined;
  }
}

function plainRecord(value: unknown): Record<string, unknown> | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  // rhea sometimes hands back a still-wrapped map; unwrap() is a no-op on plain objects.
  const unwrapped: unknown = amqpTypes.unwrap(value as Typed);
  return unwrapped !== null && typeof unwrapped === 'object' ? (unwrapped as Record<string, unknown>) : undefined;
}
