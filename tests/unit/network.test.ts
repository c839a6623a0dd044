/**
 * shared/kernel/network.ts: which addresses and host names a channel callback may not go to.
 */
import { describe, expect, it } from 'vitest';
import { isPrivateAddress, isPrivateHost } from '../../shared/kernel/network';

/** Each private IPv4 range: its first, an inner and its last address. */
const PRIVATE_V4: Record<string, string[]> = {
  '"this" network 0/8': ['0.0.0.0', '0.1.2.3', '0.255.255.255'],
  '10/8': ['10.0.0.0', '10.0.0.1', '10.123.45.67', '10.255.255.255'],
  'carrier-grade NAT 100.64/10': ['100.64.0.0', '100.100.100.100', '100.127.255.255'],
  'loopback 127/8': ['127.0.0.1', '127.1.2.3', '127.255.255.255'],
  'link-local 169.254/16 (cloud metadata)': ['169.254.0.0', '169.254.169.254', '169.254.255.255'],
  '172.16/12': ['172.16.0.0', '172.20.1.1', '172.31.255.255'],
  'IETF protocol assignments 192.0.0/24': ['192.0.0.0', '192.0.0.8', '192.0.0.255'],
  '192.168/16': ['192.168.0.0', '192.168.1.1', '192.168.255.255'],
  'benchmarking 198.18/15': ['198.18.0.0', '198.19.0.1', '198.19.255.255'],
  'multicast 224/4': ['224.0.0.0', '224.0.0.251', '239.255.255.255'],
  'reserved and broadcast 240/4': ['240.0.0.0', '250.1.2.3', '255.255.255.255'],
};

/** Public addresses, several of them right next to a private range. */
const PUBLIC_V4 = [
  '1.1.1.1',
  '8.8.8.8',
  '93.184.216.34',
  '9.255.255.255', // just below 10/8
  '11.0.0.0', // just above 10/8
  '100.63.255.255', // below 100.64/10
  '100.128.0.0', // above 100.64/10
  '126.255.255.255',
  '128.0.0.0',
  '169.253.255.255',
  '169.255.0.0',
  '172.15.255.255', // below 172.16/12
  '172.32.0.0', // above 172.16/12
  '192.0.1.0', // above 192.0.0/24
  '192.167.255.255',
  '192.169.0.0',
  '198.17.255.255', // below 198.18/15
  '198.20.0.0', // above 198.18/15
  '223.255.255.255', // below multicast
];

const PRIVATE_V6: Record<string, string[]> = {
  unspecified: ['::'],
  loopback: ['::1'],
  'unique local fc00::/7': ['fc00::', 'fc00::1', 'fd12:3456:789a::1', 'fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'FD00::1'],
  'link-local fe80::/10': ['fe80::', 'fe80::1', 'fe9a::1', 'feab:cd::1', 'febf:ffff::1', 'FE80::ABCD'],
  'multicast ff00::/8': ['ff00::', 'ff02::1', 'ff05::1:3', 'FF02::2'],
};

/** Public IPv6 addresses, and the unassigned neighbours of fc00::/7 and fe80::/10. */
const PUBLIC_V6 = ['2001:4860:4860::8888', '2606:4700:4700::1111', '2a00:1450:4001:80b::200e', 'fbff:ffff::1', 'fe7f:ffff::1'];

describe('isPrivateAddress', () => {
  for (const [range, addresses] of Object.entries(PRIVATE_V4)) {
    it(`IPv4 ${range} is private`, () => {
      for (const address of addresses) expect(isPrivateAddress(address), address).toBe(true);
    });
  }

  it('public IPv4 addresses, also right next to a private range, are not private', () => {
    for (const address of PUBLIC_V4) expect(isPrivateAddress(address), address).toBe(false);
  });

  for (const [range, addresses] of Object.entries(PRIVATE_V6)) {
    it(`IPv6 ${range} is private`, () => {
      for (const address of addresses) expect(isPrivateAddress(address), address).toBe(true);
    });
  }

  it('public IPv6 addresses are not private', () => {
    for (const address of PUBLIC_V6) expect(isPrivateAddress(address), address).toBe(false);
  });

  it('an IPv4-mapped IPv6 address (dotted) is private exactly when its IPv4 address is', () => {
    for (const addresses of Object.values(PRIVATE_V4)) {
      for (const address of addresses) {
        expect(isPrivateAddress(`::ffff:${address}`), `::ffff:${address}`).toBe(true);
        expect(isPrivateAddress(`::FFFF:${address}`), `::FFFF:${address}`).toBe(true);
      }
    }
    for (const address of PUBLIC_V4) expect(isPrivateAddress(`::ffff:${address}`), `::ffff:${address}`).toBe(false);
  });

  it('judges IPv6 by value: every spelling of loopback, the hex form URLs give mapped IPv4, and NAT64', () => {
    for (const address of ['0:0:0:0:0:0:0:1', '0000::0001', '::ffff:7f00:1', '::ffff:a9fe:a9fe', '::ffff:a00:1', '64:ff9b::a9fe:a9fe', '::127.0.0.1']) {
      expect(isPrivateAddress(address), address).toBe(true);
    }
    for (const address of ['::ffff:808:808', '64:ff9b::808:808', '2606:4700::1111']) expect(isPrivateAddress(address), address).toBe(false);
    // What `new URL()` turns a mapped loopback into is refused as a host, too.
    expect(isPrivateHost(new URL('https://[::ffff:127.0.0.1]/cb').hostname)).toBe(true);
  });

  it('what is not an IP address is not judged here (names go through isPrivateHost)', () => {
    for (const text of ['', 'localhost', 'example.com', '10.0.0', '10.0.0.256', '[::1]', 'not an address']) {
      expect(isPrivateAddress(text), text).toBe(false);
    }
  });
});

describe('isPrivateHost', () => {
  it('judges address literals as isPrivateAddress does', () => {
    for (const host of ['127.0.0.1', '10.0.0.1', '169.254.169.254', '192.168.0.10', '172.16.5.4', '0.0.0.0', '::1', 'fd00::1', 'fe80::1', '::ffff:10.0.0.1']) {
      expect(isPrivateHost(host), host).toBe(true);
    }
    for (const host of ['8.8.8.8', '93.184.216.34', '2001:4860:4860::8888']) expect(isPrivateHost(host), host).toBe(false);
  });

  it('understands bracketed IPv6 literals, as URL.hostname gives them', () => {
    for (const host of ['[::1]', '[fd00::1]', '[fe80::1]', '[FE80::1]', '[::]', '[::ffff:192.168.1.1]']) expect(isPrivateHost(host), host).toBe(true);
    expect(isPrivateHost('[2001:4860:4860::8888]')).toBe(false);
    expect(isPrivateHost(new URL('https://[::1]:8443/callbacks').hostname)).toBe(true);
    expect(isPrivateHost(new URL('https://[2606:4700:4700::1111]/callbacks').hostname)).toBe(false);
  });

  it('refuses localhost and the local and internal names, in any case', () => {
    for (const host of [
      'localhost',
      'LOCALHOST',
      'api.localhost',
      'printer.local',
      'shop.LOCAL',
      'orders.internal',
      'metadata.google.internal',
      'a.b.c.internal',
    ]) {
      expect(isPrivateHost(host), host).toBe(true);
    }
  });

  it('is not fooled by the trailing dot of a fully qualified name', () => {
    for (const host of ['localhost.', 'x.internal.', 'printer.local.']) expect(isPrivateHost(host), host).toBe(true);
    expect(isPrivateHost('example.com.')).toBe(false);
  });

  it('lets public names through, also ones that merely contain a private word', () => {
    for (const host of [
      'example.com',
      'shop.example.com',
      'callbacks.woocommerce.example',
      'localhost.example.com',
      'local.example.com',
      'internal.example.com',
      'mylocal',
      'notinternal',
      'localhostx',
    ]) {
      expect(isPrivateHost(host), host).toBe(false);
    }
  });

  it('catches the spellings of loopback a URL normalises to 127.0.0.1', () => {
    for (const url of ['https://127.1/', 'https://2130706433/', 'https://0x7f.1/', 'https://0177.0.0.1/', 'https://[0:0:0:0:0:0:0:1]/']) {
      expect(isPrivateHost(new URL(url).hostname), url).toBe(true);
    }
  });
});
