import { isIP } from 'node:net';

const V4_PRIVATE: Array<[number, number]> = [
  [0x00000000, 8], // "this" network
  [0x0a000000, 8], // 10/8
  [0x64400000, 10], // 100.64/10 carrier-grade NAT
  [0x7f000000, 8], // loopback
  [0xa9fe0000, 16], // link-local (cloud metadata lives here)
  [0xac100000, 12], // 172.16/12
  [0xc0000000, 24], // IETF protocol assignments
  [0xc0a80000, 16], // 192.168/16
  [0xc6120000, 15], // benchmarking
  [0xe0000000, 4], // multicast
  [0xf0000000, 4], // reserved, broadcast
];

function v4(address: string): number {
  return address.split('.').reduce((value, part) => value * 256 + Number(part), 0);
}

/** The eight 16-bit groups of an IPv6 address (`::` expanded, a dotted IPv4 tail read as two groups). */
function v6Groups(address: string): number[] {
  let text = address.toLowerCase().replace(/%.*$/, '');
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text)?.[1];
  if (dotted) {
    const value = v4(dotted);
    text = `${text.slice(0, -dotted.length)}${Math.floor(value / 65536).toString(16)}:${(value % 65536).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const part = (side: string) => (side === '' ? [] : side.split(':').map((group) => Number.parseInt(group, 16)));
  const front = part(head);
  const back = tail === undefined ? [] : part(tail);
  return [...front, ...new Array(8 - front.length - back.length).fill(0), ...back];
}

const embeddedV4 = (groups: number[]) =>
  `${(groups[6] as number) >> 8}.${(groups[6] as number) & 255}.${(groups[7] as number) >> 8}.${(groups[7] as number) & 255}`;

/**
 * Whether an IP address is loopback, private, link-local or otherwise not on the public internet —
 * where a callback must not be sent unless explicitly allowed (no SSRF through a channel setting).
 * IPv6 is compared by value, so every spelling of an address (`::1`, `0:0:0:0:0:0:0:1`,
 * `::ffff:7f00:1`) is judged the same; IPv4 carried inside IPv6 (mapped, compatible, NAT64) is
 * judged as the IPv4 address it carries.
 */
export function isPrivateAddress(address: string): boolean {
  const kind = isIP(address);
  if (kind === 4) {
    const value = v4(address);
    return V4_PRIVATE.some(([base, bits]) => Math.floor(value / 2 ** (32 - bits)) === Math.floor(base / 2 ** (32 - bits)));
  }
  if (kind !== 6) return false;
  const groups = v6Groups(address);
  const first = groups[0] as number;
  const zeroUpTo = (end: number) => groups.slice(0, end).every((group) => group === 0);
  // ::ffff:a.b.c.d (mapped), ::a.b.c.d (compatible, deprecated), 64:ff9b::a.b.c.d (NAT64).
  if (zeroUpTo(5) && groups[5] === 0xffff) return isPrivateAddress(embeddedV4(groups));
  if (zeroUpTo(6)) return true; // ::, ::1 and the IPv4-compatible block: never a public destination
  if (first === 0x64 && groups[1] === 0xff9b && groups.slice(2, 6).every((group) => group === 0)) return isPrivateAddress(embeddedV4(groups));
  return (first & 0xfe00) === 0xfc00 || (first & 0xffc0) === 0xfe80 || (first & 0xff00) === 0xff00;
}

/**
 * Whether a URL's host names a private place by itself: a private address literal, `localhost`,
 * `*.local`, `*.internal` (a trailing dot, the DNS root, changes nothing).
 */
export function isPrivateHost(hostname: string): boolean {
  const host = hostname
    .replace(/^\[|\]$/g, '')
    .toLowerCase()
    .replace(/\.$/, '');
  if (isIP(host)) return isPrivateAddress(host);
  return host === 'localhost' || /\.(localhost|local|internal)$/.test(host);
}
