import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join, normalize } from 'node:path';
import { crc32, inflateRawSync } from 'node:zlib';

const CENTRAL = 0x02014b50;
const END = Buffer.from([0x50, 0x4b, 0x05, 0x06]);

/**
 * Unpacks a zip (stored or deflated entries, no ZIP64) into `dir` as a deploy target does: every
 * entry of the central directory, Unix modes kept. Throws on a bad signature, size or CRC, and on an
 * entry that would land outside `dir`. Returns the entry names.
 */
export function unzip(zipPath: string, dir: string): string[] {
  const zip = readFileSync(zipPath);
  const end = zip.lastIndexOf(END);
  if (end === -1) throw new Error(`${zipPath}: no end of central directory`);
  const count = zip.readUInt16LE(end + 10);
  let at = zip.readUInt32LE(end + 16);
  const names: string[] = [];
  for (let index = 0; index < count; index++) {
    if (zip.readUInt32LE(at) !== CENTRAL) throw new Error(`${zipPath}: bad central directory record ${index}`);
    const method = zip.readUInt16LE(at + 10);
    const crc = zip.readUInt32LE(at + 16);
    const zippedSize = zip.readUInt32LE(at + 20);
    const size = zip.readUInt32LE(at + 24);
    const nameLength = zip.readUInt16LE(at + 28);
    const mode = (zip.readUInt32LE(at + 38) >>> 16) & 0o777;
    const local = zip.readUInt32LE(at + 42);
    const name = zip.toString('utf8', at + 46, at + 46 + nameLength);
    at += 46 + nameLength + zip.readUInt16LE(at + 30) + zip.readUInt16LE(at + 32);

    const start = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
    const body = zip.subarray(start, start + zippedSize);
    const data = method === 8 ? inflateRawSync(body) : method === 0 ? body : undefined;
    if (!data) throw new Error(`${name}: compression method ${method} not supported`);
    if (data.length !== size || crc32(data) !== crc) throw new Error(`${name}: size or CRC does not match`);
    if (isAbsolute(name) || normalize(name).startsWith('..')) throw new Error(`${name}: outside the target folder`);
    if (name.endsWith('/')) continue;
    const target = join(dir, name);
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, data, { mode: mode || 0o644 });
    names.push(name);
  }
  return names;
}
