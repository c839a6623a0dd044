import { describe, expect, it } from 'vitest';
import { CorsOrigins, withCrossOriginHeaders } from '../../shared/http/cors';

describe('CorsOrigins', () => {
  it('allows exactly the configured origins (case-insensitive host), or any with *, never a missing or opaque one', () => {
    const cors = new CorsOrigins(['https://book.example.com', 'http://localhost:5173']);
    expect(cors.allows('https://book.example.com')).toBe(true);
    expect(cors.allows('https://BOOK.example.com')).toBe(true);
    expect(cors.allows('http://localhost:5173')).toBe(true);
    for (const origin of [undefined, '', 'null', 'https://book.example.com:444', 'http://book.example.com', 'https://book.example.com.evil.test']) {
      expect(cors.allows(origin), String(origin)).toBe(false);
    }
    expect(cors.allowOriginFor('https://book.example.com')).toBe('https://book.example.com');
    const any = new CorsOrigins(['*']);
    expect(any.allows('https://anyone.test')).toBe(true);
    expect(any.allows('null')).toBe(false);
    expect(any.allowOriginFor('https://anyone.test')).toBe('*');
    expect(new CorsOrigins([]).allows('https://book.example.com')).toBe(false);
  });
});

describe('withCrossOriginHeaders', () => {
  const cors = new CorsOrigins(['https://book.example.com']);
  const answer = { status: 200, headers: { ETag: '"3"' }, body: { ok: true } };

  it('gives an allowed origin the headers its script may read and a cross-origin CORP, keeping the handler headers', () => {
    expect(withCrossOriginHeaders(answer, 'https://book.example.com', cors).headers).toEqual({
      ETag: '"3"',
      'Access-Control-Expose-Headers': 'ETag, Location, Retry-After, Idempotent-Replayed, Allow',
      'Cross-Origin-Resource-Policy': 'cross-origin',
      Vary: 'Origin',
    });
  });

  it('leaves every other answer as it is (the security headers then say same-origin)', () => {
    expect(withCrossOriginHeaders(answer, 'https://evil.test', cors)).toBe(answer);
    expect(withCrossOriginHeaders(answer, undefined, cors)).toBe(answer);
  });
});
