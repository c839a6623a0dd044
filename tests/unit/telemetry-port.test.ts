import { describe, expect, it } from 'vitest';
import { type DependencyInfo, timedPort } from '../../shared/platform/telemetry';

class Gateway {
  calls = 0;
  async charge(amount: number) {
    this.calls += 1;
    if (amount < 0) throw new Error('negative');
    return amount > 100 ? { ok: false as const, error: 'declined' } : { ok: true as const, value: amount };
  }
  verify(): boolean {
    return true;
  }
}

describe('timedPort', () => {
  it('reports each asynchronous call as a dependency, failures included, and returns what the port returns', async () => {
    const seen: DependencyInfo[] = [];
    const gateway = new Gateway();
    const timed = timedPort(gateway, 'stripe', { dependency: (info) => void seen.push(info) });

    expect(await timed.charge(10)).toEqual({ ok: true, value: 10 });
    expect(await timed.charge(500)).toEqual({ ok: false, error: 'declined' });
    await expect(timed.charge(-1)).rejects.toThrow('negative');
    expect(timed.verify()).toBe(true);

    expect(gateway.calls).toBe(3);
    expect(seen.map(({ target, name, success }) => ({ target, name, success }))).toEqual([
      { target: 'stripe', name: 'charge', success: true },
      { target: 'stripe', name: 'charge', success: false },
      { target: 'stripe', name: 'charge', success: false },
    ]);
    expect(seen.every((info) => info.durationMs >= 0)).toBe(true);
  });
});
