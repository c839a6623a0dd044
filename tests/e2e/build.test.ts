import { execFileSync } from 'node:child_process';
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

  it('refuses to start with a bad configuration, naming the variables', () => {
    let message = '';
    try {
      execFileSync(process.execPath, ['-e', "require('./dist/index.js')"], {
        cwd: root,
        env: { PATH: process.env.PATH, JOB_MAX_ATTEMPTS: 'zero' },
        stdio: 'pipe',
      });
    } catch (error) {
      message = String((error as { stderr: Buffer }).stderr);
    }
    expect(message).toContain('SERVICEBUS_CONNECTION');
    expect(message).toContain('TABLES_CONNECTION');
    expect(message).toContain('JOB_MAX_ATTEMPTS');
  });
});
