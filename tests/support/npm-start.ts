import { type ChildProcess, spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { npmStartEnv } from './ports';
import { waitFor } from './wait';

const root = resolve(__dirname, '../..');

/** A running `npm start`, started as a user starts it. */
export interface NpmStart {
  child: ChildProcess;
  /** The functions host's port, and every port of the run. */
  httpPort: number;
  ports: number[];
  /** Everything printed so far, stdout and stderr. */
  output(): string;
  exited: Promise<number | null>;
  /** Ctrl-C to the whole process group, as a terminal sends it; resolves with the exit code (SIGKILL after 10 s). */
  interrupt(): Promise<number | null>;
  /** SIGKILL to the group when it is still running (for `finally`). */
  kill(): void;
}

/** `npm start [-- args]` on free ports, so it does not collide with a running copy. */
export async function startNpm(options: { env?: NodeJS.ProcessEnv; args?: string[] } = {}): Promise<NpmStart> {
  const { env, httpPort, ports } = await npmStartEnv();
  const args = options.args?.length ? ['start', '--silent', '--', ...options.args] : ['start', '--silent'];
  // Its own process group, so a Ctrl-C can be sent the way a terminal sends it: to the whole group.
  const child = spawn('npm', args, { cwd: root, env: { ...env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
  const kill = () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    try {
      process.kill(-(child.pid as number), 'SIGKILL');
    } catch {
      // already gone
    }
  };
  return {
    child,
    httpPort,
    ports,
    exited,
    output: () => output,
    interrupt: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      process.kill(-(child.pid as number), 'SIGINT');
      const timer = setTimeout(kill, 10_000);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
      }
    },
    kill,
  };
}

/** Waits until the run's banner is printed through `marker` (its last line). */
export async function bannerOf(system: NpmStart, marker: string, timeoutMs = 15_000): Promise<string> {
  try {
    await waitFor(() => system.output().includes(marker), { timeoutMs, message: `npm start printed no "${marker}"` });
  } catch (error) {
    // Say why: whether it exited, and the end of what it printed.
    const state =
      system.child.exitCode !== null || system.child.signalCode !== null ? `exited (${system.child.exitCode ?? system.child.signalCode})` : 'still running';
    throw new Error(`${(error as Error).message}; npm start ${state}, its output ended with:\n${system.output().slice(-3000)}`);
  }
  return system.output();
}
