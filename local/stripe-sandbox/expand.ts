/** `expand[]=latest_charge`, `expand[]=data.customer`: ids replaced by the objects they name. */
import { badParam } from './errors';
import type { SandboxStore } from './store';

const MAX_DEPTH = 4; // Stripe's limit on expansion depth

type Json = Record<string, unknown>;
const isRecord = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

/** A copy of `body` with every path expanded; ids the sandbox does not store stay ids. */
export function expandPaths(body: unknown, paths: readonly string[], store: SandboxStore): unknown {
  if (paths.length === 0) return body;
  const copy = structuredClone(body);
  for (const path of paths) {
    const segments = path.split('.');
    if (segments.length > MAX_DEPTH || segments.some((segment) => segment === '')) {
      throw badParam(`You cannot expand more than ${MAX_DEPTH} levels of a property (${path}).`, 'expand');
    }
    expandInto(copy, segments, store, path);
  }
  return copy;
}

function expandInto(target: unknown, segments: string[], store: SandboxStore, path: string): void {
  const [head, ...rest] = segments;
  if (head === undefined || target === null) return;
  if (isRecord(target) && target.object === 'list' && head === 'data' && Array.isArray(target.data)) {
    for (const item of target.data) expandInto(item, rest, store, path);
    return;
  }
  if (!isRecord(target) || !Object.hasOwn(target, head)) {
    throw badParam(`This property cannot be expanded (${path}).`, 'expand');
  }
  const value = target[head];
  if (typeof value === 'string') {
    const found = store.find(value);
    if (found === undefined) return;
    target[head] = structuredClone(found);
  }
  expandInto(target[head], rest, store, path);
}
