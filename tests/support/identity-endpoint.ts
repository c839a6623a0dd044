// A local stand-in for App Service's managed identity endpoint, so the real ManagedIdentityCredential
// runs in tests: @azure/identity (MSAL) picks the App Service source when IDENTITY_ENDPOINT and
// IDENTITY_HEADER are set, and asks GET <endpoint>?api-version=2019-08-01&resource=…&client_id=…
// with the X-IDENTITY-HEADER secret. The tokens are JWT-shaped and unsigned: Azurite (`--oauth basic`)
// and the local broker check audience, issuer and lifetime, never a signature.
import { randomBytes, randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One token request as the endpoint received it. */
export interface TokenRequest {
  resource: string | undefined;
  clientId: string | undefined;
  apiVersion: string | undefined;
  /** Whether the request carried the endpoint's secret header. */
  secretMatched: boolean;
}

/** A running token endpoint and the environment that points a ManagedIdentityCredential at it. */
export interface IdentityEndpoint {
  /** IDENTITY_ENDPOINT and IDENTITY_HEADER, for a child process's environment. */
  env: { IDENTITY_ENDPOINT: string; IDENTITY_HEADER: string };
  /** Every request so far, oldest first. */
  requests: TokenRequest[];
  /** The audience tokens are minted for: the requested resource (default) or a fixed wrong one. */
  audience(override: string | undefined): void;
  stop(): Promise<void>;
}

/** An issuer Azurite accepts (it checks the prefix only: Entra ID's token service). */
const ISSUER = `https://sts.windows.net/${randomUUID()}/`;

const base64url = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** An unsigned JWT for `audience`, valid for an hour. */
export function unsignedToken(audience: string, clientId: string | undefined, lifetimeSeconds = 3_600): string {
  const now = Math.floor(Date.now() / 1000);
  const claims = { aud: audience, iss: ISSUER, iat: now, nbf: now - 60, exp: now + lifetimeSeconds, appid: clientId, oid: randomUUID() };
  return `${base64url({ alg: 'none', typ: 'JWT' })}.${base64url(claims)}.`;
}

/** Starts the endpoint on a free port of 127.0.0.1. */
export async function startIdentityEndpoint(): Promise<IdentityEndpoint> {
  const secret = randomBytes(16).toString('hex');
  const requests: TokenRequest[] = [];
  let wrongAudience: string | undefined;
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const request: TokenRequest = {
      resource: url.searchParams.get('resource') ?? undefined,
      clientId: url.searchParams.get('client_id') ?? undefined,
      apiVersion: url.searchParams.get('api-version') ?? undefined,
      secretMatched: req.headers['x-identity-header'] === secret,
    };
    requests.push(request);
    res.setHeader('Content-Type', 'application/json');
    if (!request.secretMatched || !request.resource) {
      res.statusCode = 400;
      res.end(JSON.stringify({ error: 'invalid_request', error_description: 'missing X-IDENTITY-HEADER or resource' }));
      return;
    }
    // Entra ID names the audience without the trailing slash the SDKs' scopes carry.
    const audience = wrongAudience ?? request.resource.replace(/\/+$/, '');
    const expiresOn = Math.floor(Date.now() / 1000) + 3_600;
    res.end(
      JSON.stringify({
        access_token: unsignedToken(audience, request.clientId),
        expires_on: String(expiresOn),
        resource: request.resource,
        token_type: 'Bearer',
        client_id: request.clientId,
      }),
    );
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    env: { IDENTITY_ENDPOINT: `http://127.0.0.1:${port}/msi/token`, IDENTITY_HEADER: secret },
    requests,
    audience: (override) => {
      wrongAudience = override;
    },
    stop: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
