import { afterEach, describe, expect, it, vi } from 'vitest';
import { type DependencyInfo, timedPort } from '../../shared/platform/telemetry';

class Gateway {
  calls = 0;
  async charge(amount: number) {
    this.calls += 1;
    // Each call "takes" 7 ms of (fake) wall-clock time, so the reported duration is known exactly.
    vi.setSystemTime(Date.now() + 7);
    if (amount < 0) throw new Error('negative');
    return amount > 100 ? { ok: false as const, error: 'declined' } : { ok: true as const, value: amount };
  }
  verify(): boolean {
    return true;
  }
}

describe('timedPort', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('reports each asynchronous call as a dependency, failures included, and returns what the port returns', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
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
    expect(seen.map((info) => info.durationMs)).toEqual([7, 7, 7]);
  });
});
