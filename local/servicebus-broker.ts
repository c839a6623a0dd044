/**
 * In-memory Azure Service Bus broker for local runs and tests, built on rhea's AMQP 1.0 server.
 * It speaks enough of the Service Bus dialect for the unmodified @azure/service-bus SDK: CBS
 * put-token (SAS tokens unchecked; Entra ID tokens checked for audience and expiry), queues created on first use, peek-lock and receive-and-delete, settlement, lock
 * renewal and expiry, dead-lettering, deferral, scheduling and peeking.
 *
 * Not a Service Bus: no sessions, topics/subscriptions, transactions, duplicate detection or
 * persistence. The conformance suite (tests/integration/servicebus-broker.test.ts) pins the
 * behaviour it does have to what the SDK and the real service do.
 */
import { once } from 'node:events';
import type { AddressInfo, Server, Socket } from 'node:net';
import { messagesOfTransfer, withMessageId } from './servicebus-broker/message-codec';
import { LinkConsumer } from './servicebus-broker/link-consumer';
import { handleManagementRequest, type ManagementReply } from './servicebus-broker/management';
import { BrokerError, type Disposition, type MessageSnapshot, type Queue, type QueueOptions, type QueueStats } from './servicebus-broker/queue';
import { classifyAddress, QueueRegistry } from './servicebus-broker/registry';
import {
  type AmqpMessage,
  type Connection,
  type Delivery,
  type Link,
  type RemoteOutcome,
  type Sender,
  acceptAttach,
  acceptedOutcome,
  asAmqpMessage,
  createContainer,
  modifiedOutcome,
  readRemoteOutcome,
  rejectedOutcome,
  remoteSourceAddress,
  remoteTargetAddress,
  sendMessage,
  settleOutgoing,
} from './servicebus-broker/rhea-interop';

export type { MessageSnapshot, QueueOptions, QueueStats };

export interface ServiceBusBrokerOptions {
  /** TCP port; 0 (the default) picks a free one. */
  port?: number;
  /** Interface to listen on (default 127.0.0.1). */
  host?: string;
  /** Default for every queue (default 10, as on the real service). */
  maxDeliveryCount?: number;
  /** Default peek-lock duration for every queue (default 30 s; the real service's default is 60 s). */
  lockDurationMs?: number;
  /** How often lock expiry, scheduled messages and time-to-live are checked (default 250 ms). */
  pollIntervalMs?: number;
  /** Advertised on every link; the SDK sizes batches from it (default 256 KiB, Standard tier). */
  maxMessageSizeBytes?: number;
  /** Broker faults (bugs, undecodable input); default console.error. Clients get an AMQP error too. */
  onError?: (error: unknown) => void;
  /**
   * Serve AMQPS with this key and certificate (PEM) instead of plain AMQP: the SDK talks plain TCP
   * only with `UseDevelopmentEmulator=true` in a connection string, so a client with a token
   * credential (the identity-based form) needs TLS, as on the real service.
   */
  tls?: { key: string | Buffer; cert: string | Buffer };
}

/** The audience Entra ID puts in tokens for Service Bus; the SDK asks for `https://servicebus.azure.net//.default`. */
export const SERVICE_BUS_AUDIENCE = 'https://servicebus.azure.net';

/** How long stop() waits for clients to answer the AMQP close before cutting their sockets. */
const STOP_GRACE_MS = 500;

/** Everything the rhea event handlers receive; rhea fills the fields that apply. */
interface EventContext {
  connection: Connection;
  sender?: Sender;
  receiver?: Link;
  delivery?: Delivery;
  message?: unknown;
}

interface LockedDelivery {
  queue: Queue;
  lockToken: string;
}

export class ServiceBusBroker {
  private readonly connections = new Set<Connection>();
  private readonly sockets = new Set<Socket>();
  private readonly consumers = new Map<Sender, LinkConsumer>();
  /** Reply links of $cbs and $management, per connection, by the address requests name in reply_to. */
  private readonly replyLinks = new WeakMap<Connection, Map<string, Sender>>();
  private readonly lockedDeliveries = new WeakMap<Delivery, LockedDelivery>();
  private readonly poller: NodeJS.Timeout;
  private boundPort = 0;

  private constructor(
    private readonly server: Server,
    private readonly endpointHost: string,
    private readonly registry: QueueRegistry,
    private readonly maxMessageSize: number,
    pollIntervalMs: number,
    private readonly reportError: (error: unknown) => void,
    private readonly tls: boolean,
  ) {
    server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
    this.poller = setInterval(() => {
      for (const queue of this.registry.all()) queue.tick();
    }, pollIntervalMs);
    this.poller.unref(); // tests and tools must be able to exit without stop()
  }

  static async start(options: ServiceBusBrokerOptions = {}): Promise<ServiceBusBroker> {
    const registry = new QueueRegistry({
      maxDeliveryCount: options.maxDeliveryCount ?? 10,
      lockDurationMs: options.lockDurationMs ?? 30_000,
    });
    const host = options.host ?? '127.0.0.1';
    const container = createContainer({ id: 'servicebus-broker' });
    const server = container.listen({
      port: options.port ?? 0,
      host,
      // Each incoming transfer is accepted only once it is stored; "modified" must stay distinct
      // from "released" because it carries abandon versus defer.
      autoaccept: false,
      treat_modified_as_released: false,
      // Without it, Nagle's algorithm holds back small acknowledgements until the client's delayed
      // ACK: ~40 ms per send whenever a client talks to several queues at once (measured in bench/).
      tcp_no_delay: true,
      ...(options.tls ? { transport: 'tls', key: options.tls.key, cert: options.tls.cert } : {}),
    } as Parameters<typeof container.listen>[0]);
    const broker = new ServiceBusBroker(
      server,
      host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host,
      registry,
      options.maxMessageSizeBytes ?? 256 * 1024,
      options.pollIntervalMs ?? 250,
      options.onError ?? ((error) => console.error('[servicebus-broker]', error)),
      options.tls !== undefined,
    );
    broker.subscribe(container);
    try {
      await once(server, 'listening'); // rejects on 'error', e.g. EADDRINUSE
    } catch (error) {
      await broker.stop();
      throw error;
    }
    broker.boundPort = (server.address() as AddressInfo).port;
    return broker;
  }

  /** The port actually bound (the free one picked for port 0); still readable after stop(). */
  get port(): number {
    return this.boundPort;
  }

  /**
   * For `new ServiceBusClient(...)`: `UseDevelopmentEmulator=true` makes the SDK use plain TCP;
   * SASL ANONYMOUS and CBS accept any key.
   */
  connectionString(): string {
    if (this.tls) throw new Error('a TLS broker is reached through fullyQualifiedNamespace() with a token credential');
    const endpoint = `sb://${this.endpointHost}:${this.port}`;
    return `Endpoint=${endpoint};SharedAccessKeyName=local;SharedAccessKey=local;UseDevelopmentEmulator=true`;
  }

  /**
   * For `new ServiceBusClient(namespace, credential)` (the identity-based form; a TLS broker only):
   * the SDK takes a port after the host name and connects over TLS.
   */
  fullyQualifiedNamespace(): string {
    if (!this.tls) throw new Error('the SDK reaches a plain-TCP broker only through connectionString()');
    return `${this.endpointHost}:${this.port}`;
  }

  /** Closes every connection and the listener; resolves once the port is free. */
  async stop(): Promise<void> {
    clearInterval(this.poller);
    // An AMQP close first, so clients see an orderly shutdown rather than a reset; sockets of
    // peers that do not answer within the grace period are cut.
    for (const connection of this.connections) connection.close();
    const deadline = Date.now() + STOP_GRACE_MS;
    while (this.sockets.size > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    for (const socket of this.sockets) socket.destroy();
    if (this.server.listening) {
      await new Promise<void>((resolve, reject) => this.server.close((error) => (error ? reject(error) : resolve())));
    }
  }

  // --- inspection -------------------------------------------------------------------------------

  /** Main queues known to the broker (dead-letter sub-queues are not listed separately). */
  queueNames(): string[] {
    return this.registry.names();
  }

  /** Counts for a queue; all zero for a queue never used. See QueueStats for the meaning of each. */
  stats(queue: string): QueueStats {
    return this.registry.find(queue)?.stats() ?? emptyStats();
  }

  /**
   * Service Bus "ActiveMessageCount": active messages, locked or not. Excludes scheduled, deferred
   * and dead-lettered messages (see stats() for those).
   */
  activeCount(queue: string): number {
    return this.stats(queue).active;
  }

  /** Stored messages of a queue (or of its dead-letter sub-queue), in sequence order. */
  messages(queue: string, options: { deadLetter?: boolean } = {}): MessageSnapshot[] {
    const main = this.registry.find(queue);
    const target = options.deadLetter === true ? main?.deadLetterQueue : main;
    return target?.snapshot() ?? [];
  }

  /** Creates the queue if needed and overrides its options (also for messages already in it). */
  setQueueOptions(queue: string, options: Partial<QueueOptions>): void {
    this.registry.setOptions(queue, options);
  }

  // --- AMQP event wiring ------------------------------------------------------------------------

  private subscribe(container: ReturnType<typeof createContainer>): void {
    // rhea calls handlers from the socket's data callback: a throw there would take the process down.
    const on = (event: string, handler: (context: EventContext) => void): void => {
      container.on(event, (context: EventContext) => {
        try {
          handler(context);
        } catch (error) {
          this.reportError(error);
        }
      });
    };
    on('connection_open', ({ connection }) => this.connections.add(connection));
    on('disconnected', ({ connection }) => this.forgetConnection(connection));
    on('sender_open', ({ sender }) => sender && this.onReceiverAttached(sender));
    on('receiver_open', ({ receiver }) => receiver && acceptAttach(receiver, this.maxMessageSize));
    on('sender_close', ({ sender }) => sender && this.dropConsumer(sender));
    on('message', (context) => this.onTransfer(context));
    on('sender_flow', ({ sender }) => sender && this.consumers.get(sender)?.queue.pump());
    // Answer a drain once whatever could be sent has been (sender_flow runs first).
    on('sender_draining', ({ sender }) => sender?.set_drained(true));
    for (const outcome of ['accepted', 'released', 'rejected', 'modified']) {
      on(outcome, ({ delivery }) => delivery && this.onSettlement(delivery));
    }
    // Without listeners rhea logs these to the console (or throws, for 'error'); a client that
    // goes away mid-test is normal here.
    const noisy = ['error', 'connection_error', 'session_error', 'sender_error', 'receiver_error', 'protocol_error'];
    for (const event of noisy) on(event, () => undefined);
  }

  /** A client receiver attached: our side is a sender from the node it names. */
  private onReceiverAttached(sender: Sender): void {
    acceptAttach(sender, this.maxMessageSize);
    const endpoint = classifyAddress(remoteSourceAddress(sender) ?? '');
    if (endpoint.kind !== 'entity') {
      this.registerReplyLink(sender);
      return;
    }
    if (requestsSession(sender)) {
      // Refuse at once: an unanswered session filter would leave the SDK waiting for a session.
      sender.close({ condition: 'amqp:not-implemented', description: 'The local Service Bus broker has no sessions.' });
      return;
    }
    // snd_settle_mode 1 (settled) is how the SDK asks for receive-and-delete.
    const mode = sender.snd_settle_mode === 1 ? 'receiveAndDelete' : 'peekLock';
    const queue = this.registry.resolve(endpoint.entity);
    const consumer = new LinkConsumer(sender, queue, mode, (delivery, lockToken) => this.lockedDeliveries.set(delivery, { queue, lockToken }));
    this.consumers.set(sender, consumer);
    queue.addConsumer(consumer);
  }

  /**
   * The SDK names its reply link's target (and link) after the reply_to of its requests; other
   * clients may not, so the node the link reads from ($cbs, <entity>/$management) is a fallback.
   */
  private registerReplyLink(sender: Sender): void {
    const links = this.replyLinks.get(sender.connection) ?? new Map<string, Sender>();
    this.replyLinks.set(sender.connection, links);
    links.set(sender.name, sender);
    const target = remoteTargetAddress(sender);
    if (target !== undefined) links.set(target, sender);
    links.set(nodeKey(remoteSourceAddress(sender) ?? ''), sender);
  }

  private dropConsumer(sender: Sender): void {
    const consumer = this.consumers.get(sender);
    if (consumer === undefined) return;
    consumer.queue.removeConsumer(consumer);
    this.consumers.delete(sender);
  }

  private forgetConnection(connection: Connection): void {
    this.connections.delete(connection);
    for (const sender of [...this.consumers.keys()]) {
      if (sender.connection === connection) this.dropConsumer(sender);
    }
  }

  /** A transfer from a client sender: a message for a queue, a CBS token or a management request. */
  private onTransfer({ receiver, delivery, message }: EventContext): void {
    if (receiver === undefined || delivery === undefined) return;
    try {
      this.route(receiver, message, delivery.format);
      delivery.accept();
    } catch (error) {
      delivery.reject({ condition: 'amqp:internal-error', description: String(error) });
      throw error;
    }
  }

  private route(receiver: Link, message: unknown, format: number): void {
    const endpoint = classifyAddress(remoteTargetAddress(receiver) ?? '');
    if (endpoint.kind === 'entity') {
      const queue = this.registry.resolve(endpoint.entity);
      // A batch arrives as raw bytes (rhea decodes format 0 only).
      const payload = Buffer.isBuffer(message) ? message : asAmqpMessage(message);
      for (const single of messagesOfTransfer(payload, format)) queue.enqueue(withMessageId(single));
    } else {
      const request = asAmqpMessage(message);
      const reply =
        endpoint.kind === 'cbs' ? cbsReply(request) : managementReplyMessage(handleManagementRequest(this.registry.resolve(endpoint.entity), request));
      this.reply(receiver, request, reply);
    }
  }

  /** Replies on the connection's link for reply_to, else on the link reading from the request's node. */
  private reply(requestLink: Link, request: AmqpMessage, reply: AmqpMessage): void {
    const links = this.replyLinks.get(requestLink.connection);
    const link = (request.reply_to === undefined ? undefined : links?.get(request.reply_to)) ?? links?.get(nodeKey(remoteTargetAddress(requestLink) ?? ''));
    if (link !== undefined) sendMessage(link, { ...reply, correlation_id: request.message_id, to: request.reply_to });
  }

  /** The client settled a peek-locked delivery; we settle back with the result. */
  private onSettlement(delivery: Delivery): void {
    const locked = this.lockedDeliveries.get(delivery);
    const outcome = readRemoteOutcome(delivery);
    if (locked === undefined || outcome === undefined) return;
    this.lockedDeliveries.delete(delivery);
    try {
      locked.queue.settle(locked.lockToken, dispositionOf(outcome));
      settleOutgoing(delivery, confirmationOf(outcome));
    } catch (error) {
      // message-lock-lost becomes ServiceBusError code "MessageLockLost" in the SDK; anything
      // else is a broker fault, still answered so the client does not wait out its timeout.
      const known = error instanceof BrokerError;
      const rejection = known ? rejectedOutcome(error.condition, error.message) : rejectedOutcome('amqp:internal-error', String(error));
      settleOutgoing(delivery, rejection);
      if (!known) throw error;
    }
  }
}

function emptyStats(): QueueStats {
  return { active: 0, available: 0, locked: 0, deferred: 0, scheduled: 0, deadLetter: 0 };
}

function nodeKey(address: string): string {
  return `node:${address.toLowerCase()}`;
}

/** Session receivers attach with a com.microsoft:session-filter on the source. */
function requestsSession(sender: Sender): boolean {
  const filter: unknown = sender.source?.filter;
  if (filter === null || typeof filter !== 'object') return false;
  return Object.keys(filter).some((key) => key.includes('session-filter'));
}

/** Link outcomes as the SDK uses them: accepted = complete, modified = abandon or defer, rejected = dead-letter. */
function dispositionOf(outcome: RemoteOutcome): Disposition {
  switch (outcome.kind) {
    case 'accepted':
      return { kind: 'complete' };
    case 'released':
      return { kind: 'abandon' };
    case 'modified':
      return { kind: outcome.undeliverableHere ? 'defer' : 'abandon', properties: outcome.annotations };
    case 'rejected': {
      const { DeadLetterReason, DeadLetterErrorDescription, ...properties } = outcome.info ?? {};
      return {
        kind: 'deadLetter',
        reason: typeof DeadLetterReason === 'string' ? DeadLetterReason : undefined,
        description: typeof DeadLetterErrorDescription === 'string' ? DeadLetterErrorDescription : undefined,
        properties: Object.keys(properties).length > 0 ? properties : undefined,
      };
    }
  }
}

/** The settled state we send back on success: same kind, never an error (the SDK fails on any). */
function confirmationOf(outcome: RemoteOutcome) {
  switch (outcome.kind) {
    case 'accepted':
      return acceptedOutcome();
    case 'rejected':
      return rejectedOutcome();
    case 'modified':
      return modifiedOutcome(outcome.undeliverableHere);
    case 'released':
      return modifiedOutcome(false);
  }
}

/**
 * CBS put-token. A SAS token is accepted with any key (connection strings carry a local key). An
 * Entra ID token (`jwt`) is checked as far as a broker without the tenant's keys can: its audience
 * and expiry, not its signature; a wrong one is refused with 401, as the service does.
 */
function cbsReply(request: AmqpMessage): AmqpMessage {
  const status = (code: number, description: string) => ({ application_properties: { 'status-code': code, 'status-description': description } });
  const properties = request.application_properties ?? {};
  if (properties.operation !== 'put-token') return status(400, 'Only put-token is supported.');
  if (properties.type === 'servicebus.windows.net:sastoken') return status(202, 'Accepted');
  if (properties.type !== 'jwt') return status(400, `Unsupported token type ${String(properties.type)}.`);
  const refusal = jwtRefusal(request.body, Date.now());
  return refusal === undefined ? status(202, 'Accepted') : status(401, refusal);
}

/** Why a JWT is not one for Service Bus at `now` (audience, expiry), or undefined when it is. */
function jwtRefusal(token: unknown, now: number): string | undefined {
  const text = Buffer.isBuffer(token) ? token.toString('utf8') : token;
  const payload = typeof text === 'string' ? text.split('.')[1] : undefined;
  let claims: { aud?: unknown; exp?: unknown };
  try {
    claims = JSON.parse(Buffer.from(payload ?? '', 'base64url').toString('utf8'));
  } catch {
    return 'InvalidIssuer: the token is not a JWT.';
  }
  const audiences = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
  if (!audiences.some((audience) => typeof audience === 'string' && audience.replace(/\/+$/, '') === SERVICE_BUS_AUDIENCE)) {
    return `InvalidAudience: the token is not for ${SERVICE_BUS_AUDIENCE}.`;
  }
  if (typeof claims.exp !== 'number' || claims.exp * 1000 <= now) return 'ExpiredToken: the token has expired.';
  return undefined;
}

/** Management replies carry camelCase status properties (the SDK checks `statusCode === 204`). */
function managementReplyMessage(reply: ManagementReply): AmqpMessage {
  const properties: Record<string, unknown> = { statusCode: reply.statusCode };
  if (reply.description !== undefined) properties.statusDescription = reply.description;
  if (reply.errorCondition !== undefined) properties.errorCondition = reply.errorCondition;
  return { application_properties: properties, body: reply.body };
}
