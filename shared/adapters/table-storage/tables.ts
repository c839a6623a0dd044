import { odata, RestError, TableClient, TableServiceClient, type TableServiceClientOptions } from '@azure/data-tables';
import type { TokenCredential } from '@azure/identity';
import type { TableSettings } from '../../config';
import { identityCredential } from '../identity/token-credential';

/** The closed set of storage outcomes callers act on; anything else is unexpected and thrown as is. */
export type TableErrorCode = 'duplicate' | 'conflict' | 'notFound';

/** A Table Storage failure the caller can handle; the SDK's RestError is kept as `cause`. */
export class TableStoreError extends Error {
  constructor(
    readonly code: TableErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'TableStoreError';
  }
}

/** True when `error` is a TableStoreError with the given code. */
export function isTableError(error: unknown, code: TableErrorCode): error is TableStoreError {
  return error instanceof TableStoreError && error.code === code;
}

/**
 * Maps an SDK error to a TableStoreError (409 duplicate, 412 stale ETag, 404 not found) or, for
 * anything else, an Error naming the operation with the original as `cause`.
 */
export function mapTableError(error: unknown, operation: string): Error {
  if (error instanceof TableStoreError) return error;
  if (error instanceof RestError) {
    // Azurite and the service report a stale ETag as 412; the error code sits in `details`, not `code`.
    const errorCode = error.code ?? (error.details as { errorCode?: string } | undefined)?.errorCode;
    if (error.statusCode === 412 || errorCode === 'UpdateConditionNotSatisfied') {
      return new TableStoreError('conflict', `${operation}: the entity changed since it was read`, { cause: error });
    }
    if (error.statusCode === 409) {
      return new TableStoreError('duplicate', `${operation}: the entity already exists`, { cause: error });
    }
    if (error.statusCode === 404) {
      return new TableStoreError('notFound', `${operation}: not found`, { cause: error });
    }
  }
  return new Error(`table storage ${operation} failed`, { cause: error });
}

/** Runs a storage call and throws its mapped error. */
export async function tableCall<T>(operation: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw mapTableError(error, operation);
  }
}

// Table Storage forbids these in PartitionKey/RowKey (plus control characters). `~` is the escape
// character, so it is escaped too and the mapping stays one-to-one.
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what keys may not hold.
const UNSAFE_KEY_CHARS = /[/\\#?~\u0000-\u001f\u007f-\u009f]/g;

// A lone UTF-16 surrogate cannot be URL-encoded (the SDK throws on it): under the u flag a pair
// reads as one code point, so what still matches is alone.
const LONE_SURROGATE = /\p{Cs}/gu;

/**
 * Makes any string usable as a PartitionKey/RowKey, injectively (`/` -> `~2F`, `~` -> `~7E`, a lone
 * surrogate -> `~uD800`; no two-digit escape starts with `u`).
 */
export function safeKey(value: string): string {
  return value
    .replace(UNSAFE_KEY_CHARS, (ch) => `~${ch.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`)
    .replace(LONE_SURROGATE, (ch) => `~u${ch.charCodeAt(0).toString(16).toUpperCase()}`);
}

// A string property holds at most 64 KiB (32K UTF-16 units); larger text is spread over
// `<name>`, `<name>1`, `<name>2`, … The entity as a whole may not pass 1 MiB.
const CHUNK_CHARS = 32_000;

/** Text too long for one property as columns `<name>`, `<name>1`, …; throws past `maxChunks` (`what` names it). */
export function spreadText(name: string, text: string, maxChunks: number, what: string): Record<string, string> {
  const chunks = Math.max(1, Math.ceil(text.length / CHUNK_CHARS));
  if (chunks > maxChunks) throw new Error(`${what} is too large to store (${text.length} characters)`);
  const columns: Record<string, string> = {};
  for (let i = 0; i < chunks; i++) columns[i === 0 ? name : `${name}${i}`] = text.slice(i * CHUNK_CHARS, (i + 1) * CHUNK_CHARS);
  return columns;
}

/** The text `spreadText` stored under `name`, joined again. */
export function gatherText(row: Record<string, unknown>, name: string): string {
  let text = String(row[name] ?? '');
  for (let i = 1; typeof row[`${name}${i}`] === 'string'; i++) text += row[`${name}${i}`] as string;
  return text;
}

const TABLE_NAME = /^[A-Za-z][A-Za-z0-9]{2,62}$/;

/** A client that is made when a member is first read, then used as it is (methods bound to it). */
function madeOnFirstUse<T extends object>(make: () => T): T {
  let made: T | undefined;
  const bound = new Map<PropertyKey, unknown>();
  return new Proxy({} as T, {
    get(_target, property) {
      made ??= make();
      const value: unknown = Reflect.get(made, property, made);
      if (typeof value !== 'function') return value;
      let method = bound.get(property);
      if (method === undefined) bound.set(property, (method = value.bind(made)));
      return method;
    },
  });
}

/**
 * Builds and caches the TableClients of one storage account, named `<prefix><Name>`: from
 * TABLES_CONNECTION, or from the table endpoint and a token credential (TABLES_CONNECTION__tableServiceUri).
 */
export class TableStore {
  private readonly clients = new Map<string, TableClient>();
  private readonly options: TableServiceClientOptions;
  /** The account's table endpoint and, for an identity-based connection, its credential. */
  private readonly account: { url: string; connectionString: string } | { url: string; credential: TokenCredential };
  private probeClient?: TableServiceClient;
  private serviceClient?: TableServiceClient;

  constructor(private readonly config: TableSettings) {
    this.account =
      config.connectionString !== undefined
        ? { url: TableServiceClient.fromConnectionString(config.connectionString).url, connectionString: config.connectionString }
        : { url: config.tableServiceUri, credential: identityCredential(config.credential) };
    // The SDK refuses plain http unless told; only Azurite (or another local emulator) serves http,
    // so the flag follows the endpoint instead of being on everywhere. Tokens need https (config).
    this.options = { allowInsecureConnection: this.account.url.startsWith('http:') };
  }

  /** The full table name for a logical name (`Bookings` -> `hubBookings`). */
  tableName(name: string): string {
    const full = `${this.config.prefix}${name}`;
    if (!TABLE_NAME.test(full)) throw new Error(`invalid table name "${full}": letters and digits only, 3-63 long`);
    return full;
  }

  /**
   * The cached client for `<prefix><name>`, made by its first call: the composition hands a client of
   * every table to its adapters, and each SDK client builds a request pipeline (~0.5 ms) that a cold
   * instance should spend only on the two or three tables its first request touches.
   */
  client(name: string): TableClient {
    const full = this.tableName(name);
    let client = this.clients.get(full);
    if (!client) {
      const account = this.account;
      client = madeOnFirstUse(() =>
        'credential' in account
          ? new TableClient(account.url, full, account.credential, this.options)
          : TableClient.fromConnectionString(account.connectionString, full, this.options),
      );
      this.clients.set(full, client);
    }
    return client;
  }

  /**
   * Creates every table that does not exist yet (start-up; safe to repeat), through one service
   * client: one query lists the tables under the prefix, and only the missing ones are created, so an
   * instance of a running installation pays one round trip, not one per table.
   */
  async ensureTables(names: readonly string[]): Promise<void> {
    this.serviceClient ??= this.serviceClientWith(this.options);
    const service = this.serviceClient;
    const prefix = this.config.prefix;
    const existing = new Set<string>();
    // `~` sorts after every letter and digit a table name may hold.
    for await (const table of service.listTables({ queryOptions: { filter: odata`TableName ge ${prefix} and TableName lt ${`${prefix}~`}` } })) {
      if (table.name) existing.add(table.name);
    }
    await Promise.all(
      names
        .map((name) => this.tableName(name))
        .filter((full) => !existing.has(full))
        .map(async (full) => {
          try {
            await service.createTable(full);
          } catch (error) {
            // The SDK already swallows TableAlreadyExists; a racing creator can still surface as 409.
            if (!(error instanceof RestError && error.statusCode === 409)) throw mapTableError(error, `create table ${full}`);
          }
        }),
    );
  }

  /** Health check: true when the account answers a cheap call within `timeoutMs`. */
  async probe(timeoutMs: number): Promise<boolean> {
    // A health check reports, it does not wait out retries.
    this.probeClient ??= this.serviceClientWith({ ...this.options, retryOptions: { maxRetries: 0 } });
    try {
      await this.probeClient.getProperties({ abortSignal: AbortSignal.timeout(timeoutMs) });
      return true;
    } catch {
      return false;
    }
  }

  /** A client of the account's table service (table creation, the health probe). */
  private serviceClientWith(options: TableServiceClientOptions): TableServiceClient {
    const account = this.account;
    return 'credential' in account
      ? new TableServiceClient(account.url, account.credential, options)
      : TableServiceClient.fromConnectionString(account.connectionString, options);
  }
}
