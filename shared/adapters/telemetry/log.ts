import type { Logger } from '../../platform/log';

type Level = 'info' | 'warn' | 'error';

/** JSON-lines logs on stdout/stderr: the Functions host forwards them to Application Insights traces. */
export function consoleLogger(options: { silent?: boolean; minLevel?: Level } = {}): Logger {
  const order: Record<Level, number> = { info: 0, warn: 1, error: 2 };
  const min = order[options.minLevel ?? 'info'];
  const write = (level: Level) => (message: string, data?: Record<string, unknown>) => {
    if (options.silent || order[level] < min) return;
    const line = JSON.stringify({ level, at: new Date().toISOString(), message, ...data });
    (level === 'info' ? process.stdout : process.stderr).write(`${line}\n`);
  };
  return { info: write('info'), warn: write('warn'), error: write('error') };
}
