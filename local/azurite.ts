import { once } from 'node:events';
import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import { randomUUID } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/** Azurite's well-known development account (public, documented by Microsoft; not a secret). */
export const AZURITE_ACCOUNT = 'devstoreaccount1';
export const AZURITE_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

/** The file Azurite keeps its tables in, inside a `location` (what its CLI's `--location` names too). */
export const AZURITE_TABLE_DB_FILE = '__azurite_db_table__.json';

/** A running in-process Azurite Table service. */
export interface AzuriteTables {
  port: number;
  /** The directory the tables are kept in; undefined when they live in memory only. */
  location?: string;
  /** Account connection string for the dev account, pointing at this instance. */
  connectionString: string;
  /** Closes the listener and every connection; resolves once the port is free. */
  stop(): Promise<void>;
}

/** The slice of Azurite's (untyped) TableServer this module relies on. */
interface TableServerLike {
  start(): Promise<void>;
  close(): Promise<void>;
  httpServer: Server;
}

type TableConfigurationCtor = new (...args: unknown[]) => object;
type TableServerCtor = new (config: object) => TableServerLike;

// `require('azurite')` pulls in the VS Code extension entry and fails; the table server classes
// load on their own. Loaded lazily because the require costs ~1 s and only tests and `npm start` need it.
let classes: { TableConfiguration: TableConfigurationCtor; TableServer: TableServerCtor } | undefined;
function azuriteClasses(): NonNullable<typeof classes> {
  if (!classes) {
    const load = createRequire(import.meta.url);
    classes = {
      TableConfiguration: load('azurite/dist/src/table/TableConfiguration').default,
      TableServer: load('azurite/dist/src/table/TableServer').default,
    };
  }
  return classes;
}

/** The connection string an app uses to reach an Azurite Table service at host:port. */
export function azuriteConnectionString(host: string, port: number, protocol: 'http' | 'https' = 'http'): string {
  return (
    `DefaultEndpointsProtocol=${protocol};AccountName=${AZURITE_ACCOUNT};AccountKey=${AZURITE_KEY};` +
    `TableEndpoint=${protocol}://${host}:${port}/${AZURITE_ACCOUNT};`
  );
}

/**
 * Starts Azurite's Table service in this process: silent, no telemetry (that is only wired up by
 * Azurite's CLI entry), no API version check. In memory, unless `location` names a directory: then
 * the tables are loaded from it at start, saved every 5 s (Azurite's own LokiJS autosave) and on
 * stop, as `azurite --location` does. `port: 0` picks a free port.
 */
export async function startAzurite(
  opts: {
    port?: number;
    host?: string;
    location?: string;
    /** Serve HTTPS with these PEM files (Azurite's `--cert` / `--key`); bearer tokens need it. */
    https?: { cert: string; key: string };
    /** Accept Entra ID bearer tokens (Azurite's `--oauth basic`, HTTPS only) besides shared keys. */
    oauth?: 'basic';
  } = {},
): Promise<AzuriteTables> {
  const host = opts.host ?? '127.0.0.1';
  const { TableConfiguration, TableServer } = azuriteClasses();
  const location = opts.location === undefined ? undefined : resolve(opts.location);
  if (location) await mkdir(location, { recursive: true });
  // Loki stats this path and loads the file if it exists, even in memory mode: use a name that
  // cannot exist so a stray `__azurite_db_table__.json` in the cwd never leaks old data in.
  const dbPath = location ? join(location, AZURITE_TABLE_DB_FILE) : join(tmpdir(), `order-hub-azurite-${randomUUID()}.json`);
  const config = new TableConfiguration(
    host,
    opts.port ?? 10002,
    5, // keep-alive timeout (s)
    dbPath,
    false, // debug log
    false, // access log (silent)
    undefined, // access log stream
    undefined, // debug log file
    false, // loose: the Table service ignores it
    true, // skip API version check: the SDK may be newer than the emulator
    opts.https?.cert ?? '', // cert
    opts.https?.key ?? '', // key
    '', // pwd
    opts.oauth, // oauth: `basic` checks a bearer token's issuer, audience and lifetime, not its signature
    false, // disableProductStyleUrl
    location === undefined, // in-memory persistence unless a location is given
  );
  const server = new TableServer(config);
  await server.start();

  const address = server.httpServer.address();
  if (address === null || typeof address === 'string') {
    await server.close();
    throw new Error('Azurite Table service did not report a TCP address');
  }

  let stopped: Promise<void> | undefined;
  return {
    port: address.port,
    location,
    connectionString: azuriteConnectionString(host, address.port, opts.https ? 'https' : 'http'),
    stop() {
      stopped ??= (async () => {
        // Azurite's close() asks the server to stop but does not wait for the sockets to go;
        // waiting for 'close' is what guarantees the port is free when stop() resolves. It also
        // closes the LokiJS store, which saves the tables when they are kept on disk.
        const closed = server.httpServer.listening ? once(server.httpServer, 'close') : Promise.resolve();
        await server.close();
        await closed;
      })();
      return stopped;
    },
  };
}
