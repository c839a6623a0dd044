import type { ServiceBusReceivedMessage, ServiceBusReceiver } from '@azure/service-bus';
import type * as Rhea from 'rhea';
import type { Settlement } from '../../platform/jobs';

/** Settles through a ServiceBusReceiver: the local host's peek-lock receivers. */
export class ReceiverSettlement implements Settlement {
  constructor(
    private readonly receiver: ServiceBusReceiver,
    private readonly message: ServiceBusReceivedMessage,
  ) {}

  complete(): Promise<void> {
    return this.receiver.completeMessage(this.message);
  }

  deadLetter(reason: string, description: string, properties: Record<string, string> = {}): Promise<void> {
    return this.receiver.deadLetterMessage(this.message, {
      ...properties,
      deadLetterReason: reason,
      deadLetterErrorDescription: description,
    });
  }

  abandon(): Promise<void> {
    return this.receiver.abandonMessage(this.message);
  }
}

/** The settlement actions of `@azure/functions-extensions-servicebus` (SDK binding) we rely on. */
export interface MessageActions {
  complete(message: ServiceBusReceivedMessage): Promise<void>;
  abandon(message: ServiceBusReceivedMessage, propertiesToModify?: Uint8Array): Promise<void>;
  deadletter(
    message: ServiceBusReceivedMessage,
    propertiesToModify?: Uint8Array,
    deadletterReason?: string,
    deadletterErrorDescription?: string,
  ): Promise<void>;
}

/** The host's settlement service expects modified properties as one AMQP-encoded map. */
function encodeAmqpMap(properties: Record<string, string>): Uint8Array | undefined {
  if (Object.keys(properties).length === 0) return undefined;
  // Required here, not at start-up: only a settlement that modifies properties encodes AMQP.
  const { types } = require('rhea') as typeof Rhea;
  // rhea's typings omit the Writer it exports at run time.
  const { Writer } = types as unknown as { Writer: new () => { write(value: unknown): void; toBuffer(): Buffer } };
  const writer = new Writer();
  writer.write(types.wrap_map(properties));
  return writer.toBuffer();
}

/** Settles through the Functions host's SDK-binding message actions (sdkBinding: true, autoComplete off). */
export class MessageActionsSettlement implements Settlement {
  constructor(
    private readonly actions: MessageActions,
    private readonly message: ServiceBusReceivedMessage,
  ) {}

  complete(): Promise<void> {
    return this.actions.complete(this.message);
  }

  deadLetter(reason: string, description: string, properties: Record<string, string> = {}): Promise<void> {
    return this.actions.deadletter(this.message, encodeAmqpMap(properties), reason, description);
  }

  abandon(): Promise<void> {
    return this.actions.abandon(this.message);
  }
}
