import type { HttpResponseData } from '../function-table';

/**
 * The browser front ends that may call the API from another origin (`CORS_ORIGINS`): exact origins
 * (`https://app.example.com`), or `*` for any. Credentials (cookies) are never allowed: callers send
 * `Authorization` themselves. Under Azure the Functions platform answers preflights and adds
 * `Access-Control-Allow-Origin` (the Bicep gives it the same list); the local host plays that part.
 * What only the app can add travels with every answer of both hosts (`withCrossOriginHeaders`).
 */
export class CorsOrigins {
  private readonly any: boolean;
  private readonly exact: ReadonlySet<string>;

  constructor(origins: readonly string[]) {
    this.any = origins.includes('*');
    this.exact = new Set(origins.filter((origin) => origin !== '*').map((origin) => origin.toLowerCase()));
  }

  /** Whether an `Origin` header names a caller of this list. */
  allows(origin: string | undefined): origin is string {
    if (origin === undefined || origin === '' || origin === 'null') return false;
    return this.any || this.exact.has(origin.toLowerCase());
  }

  /** `*` when any origin may call, otherwise the caller's own origin (what `Access-Control-Allow-Origin` says). */
  allowOriginFor(origin: string): string {
    return this.any ? '*' : origin;
  }
}

/** Response headers a cross-origin script may read besides the CORS-safelisted ones. */
export const EXPOSED_HEADERS = ['ETag', 'Location', 'Retry-After', 'Idempotent-Replayed', 'Allow'] as const;

/**
 * Headers only the app can give an allowed cross-origin caller: the headers its script may read
 * (ETag for If-Match, Location, Retry-After), a `Cross-Origin-Resource-Policy` relaxed to
 * `cross-origin` (the default `same-origin` is for everyone else), and `Vary: Origin` so caches keep
 * answers per origin. Answers to other callers are left as they are.
 */
export function withCrossOriginHeaders(response: HttpResponseData, origin: string | undefined, cors: CorsOrigins): HttpResponseData {
  if (!cors.allows(origin)) return response;
  return {
    ...response,
    headers: {
      ...response.headers,
      'Access-Control-Expose-Headers': EXPOSED_HEADERS.join(', '),
      'Cross-Origin-Resource-Policy': 'cross-origin',
      Vary: 'Origin',
    },
  };
}
