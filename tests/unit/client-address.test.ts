import { HttpRequest, type HttpResponseInit } from '@azure/functions';
import { describe, expect, it } from 'vitest';
import { clientAddress, type FunctionsApp, registerFunctions } from '../../functions/register';
import type { HttpFunctionDef, HttpRequestData } from '../../shared/function-table';

// What App Service's front end sends on: it sets Client-IP (replacing the caller's) and appends the
// address of the connection it took to X-Forwarded-For. 203.0.113.7 is the real caller here.
describe('clientAddress (the Azure host)', () => {
  it('takes the Client-IP the front end sets, without its port', () => {
    expect(clientAddress({ 'client-ip': '203.0.113.7:51234', 'x-forwarded-for': '203.0.113.7:51234' })).toBe('203.0.113.7');
  });

  it('ignores what a caller prepends to X-Forwarded-For', () => {
    expect(clientAddress({ 'x-forwarded-for': '6.6.6.6, 203.0.113.7' })).toBe('203.0.113.7');
    expect(clientAddress({ 'x-forwarded-for': '6.6.6.6,10.0.0.1, 203.0.113.7:443' })).toBe('203.0.113.7');
    expect(clientAddress({ 'client-ip': '203.0.113.7:51234', 'x-forwarded-for': '6.6.6.6, 203.0.113.7:51234' })).toBe('203.0.113.7');
  });

  it('drops ports of IPv4 and bracketed IPv6 addresses and keeps bare IPv6 whole', () => {
    expect(clientAddress({ 'x-forwarded-for': '1.2.3.4:5678' })).toBe('1.2.3.4');
    expect(clientAddress({ 'x-forwarded-for': '[::1]:80' })).toBe('::1');
    expect(clientAddress({ 'x-forwarded-for': '[2001:DB8::1]' })).toBe('2001:db8::1');
    expect(clientAddress({ 'x-forwarded-for': '2001:db8::1' })).toBe('2001:db8::1');
    expect(clientAddress({ 'client-ip': '[2001:db8::7]:443' })).toBe('2001:db8::7');
    expect(clientAddress({ 'client-ip': '::ffff:203.0.113.7' })).toBe('203.0.113.7');
  });

  it('is empty when no header holds an address, and never passes on what is not one', () => {
    expect(clientAddress({})).toBe('');
    expect(clientAddress({ 'x-forwarded-for': '203.0.113.7, unknown' })).toBe('');
    expect(clientAddress({ 'x-forwarded-for': '203.0.113.7, ' })).toBe('');
    expect(clientAddress({ 'client-ip': 'ip:evil', 'x-forwarded-for': '203.0.113.7' })).toBe('203.0.113.7');
    expect(clientAddress({ 'x-forwarded-for': '999.1.1.1' })).toBe('');
  });

  it("hands the pipeline the front end's address of a request whose caller spoofed X-Forwarded-For", async () => {
    const handlers: Array<(request: HttpRequest) => Promise<HttpResponseInit>> = [];
    const app = { http: (_name: string, options: { handler: (request: HttpRequest) => Promise<HttpResponseInit> }) => handlers.push(options.handler) };
    const seen: HttpRequestData[] = [];
    const def = { kind: 'http', name: 'probe', route: 'v1/probe', methods: ['GET'], handler: async () => ({ status: 200 }) } as unknown as HttpFunctionDef;
    registerFunctions(app as unknown as FunctionsApp, {
      functions: [def],
      pipeline: {
        handle: async (_def, request) => {
          seen.push(request);
          return { status: 204 };
        },
      },
      log: { info() {}, warn() {}, error() {} },
      ready: async () => undefined,
    });
    const request = new HttpRequest({
      method: 'GET',
      url: 'https://hub.example.net/api/v1/probe',
      // The caller's own entry, then the hop the front end appended.
      headers: { 'X-Forwarded-For': '6.6.6.6, 203.0.113.7:51234' },
    });
    expect((await (handlers[0] as (typeof handlers)[0])(request)).status).toBe(204);
    expect(seen[0]?.clientIp).toBe('203.0.113.7');
  });
});
