import { execFileSync, spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';

const root = resolve(__dirname, '../..');

interface Registration {
  kind: 'http' | 'serviceBusQueue' | 'timer';
  name: string;
  options: Record<string, unknown>;
  hasHandler: boolean;
}

describe('npm run build (the deployable bundle)', () => {
  let registered: Registration[];

  beforeAll(() => {
    execFileSync('npm', ['run', '--silent', 'build'], { cwd: root, stdio: 'pipe' });
    const output = execFileSync(process.execPath, ['-r', resolve(__dirname, '../support/record-registrations.cjs'), '-e', "require('./dist/index.js')"], {
      cwd: root,
      env: {
        ...process.env,
        SERVICEBUS_CONNECTION: 'Endpoint=sb://127.0.0.1:1;SharedAccessKeyName=x;SharedAccessKey=y;UseDevelopmentEmulator=true',
        TABLES_CONNECTION: 'UseDevelopmentStorage=true',
      },
    }).toString();
    registered = JSON.parse(output.split('REGISTERED ')[1] as string) as Registration[];
  }, 60_000);

  it('loads as CommonJS and registers the function table with @azure/functions', () => {
    const byName = new Map(registered.map((entry) => [entry.name, entry]));
    expect(byName.get('health')).toMatchObject({ kind: 'http', options: { route: 'health', methods: ['GET'], authLevel: 'anonymous' } });
    expect(byName.get('openapi')).toMatchObject({ kind: 'http', options: { route: 'v1/openapi.json' } });
    expect(byName.get('admin-dead-letters-discard')).toMatchObject({
      kind: 'http',
      options: { route: 'v1/admin/dead-letters/{queue}/{messageId}', methods: ['DELETE'] },
    });
    expect(byName.get('outbox-relay')).toMatchObject({ kind: 'timer', options: { schedule: '0 */1 * * * *' } });
    expect(registered.every((entry) => entry.hasHandler)).toBe(true);
  });

  it('registers from the function manifest, then names a bad configuration at start-up and answers 503 until it is fixed', () => {
    // After the bundle's own start-up load (queued first), call health as the host would.
    const script = `require('./dist/index.js');
      setImmediate(async () => {
        const { HttpRequest } = require('@azure/functions');
        const response = await globalThis.__registeredHandlers.get('health')(new HttpRequest({ method: 'GET', url: 'https://hub.example/api/health' }));
        console.log('HEALTH ' + JSON.stringify(response));
      });`;
    const run = spawnSync(process.execPath, ['-r', resolve(__dirname, '../support/record-registrations.cjs'), '-e', script], {
      cwd: root,
      env: { PATH: process.env.PATH, JOB_MAX_ATTEMPTS: 'zero' },
      encoding: 'utf8',
    });
    expect(run.status).toBe(0);
    expect(run.stderr).toMatch(/order-hub cannot start: invalid configuration: .*SERVICEBUS_CONNECTION/);
    expect(run.stderr).toContain('TABLES_CONNECTION');
    expect(run.stderr).toContain('JOB_MAX_ATTEMPTS');
    const recorded = JSON.parse(run.stdout.split('REGISTERED ')[1] as string) as Registration[];
    expect(recorded.map((entry) => entry.name).sort()).toEqual(registered.map((entry) => entry.name).sort());
    const health = JSON.parse(run.stdout.split('HEALTH ')[1]?.split('\n')[0] as string) as { status: number; headers: Record<string, string>; body: string };
    expect(health.status).toBe(503);
    expect(health.headers['content-type']).toBe('application/problem+json');
    // The reason stays in the log: the answer names no setting.
    expect(health.body).not.toMatch(/JOB_MAX_ATTEMPTS|SERVICEBUS_CONNECTION/);
  });
});
