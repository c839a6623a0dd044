import type { Server as HttpServer } from 'node:http';
import type { Server } from 'node:net';

/** Starts listening; a bind failure (EADDRINUSE) rejects instead of crashing the process. */
export function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/** The http:// base URL clients use for a server bound to `host` (a wildcard bind is reached on loopback). */
export function baseUrl(host: string, port: number): string {
  const reachable = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  return `http://${reachable.includes(':') ? `[${reachable}]` : reachable}:${port}`;
}

/** Stops listening and drops open connections (keep-alive ones included); resolves once closed. */
export async function closeServer(server: HttpServer): Promise<void> {
  if (!server.listening) return;
  const closed = new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
  server.closeAllConnections();
  await closed;
}
