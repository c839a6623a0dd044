// Durations and timer schedules as settings give them, without zod: the Azure entry reads the timer
// settings with these before the configuration's schemas load, and the configuration checks the same way.

/** A duration such as `250ms`, `5s`, `30m`, `2h` or `7d` in milliseconds; undefined when it is not one. */
export function durationMs(text: string): number | undefined {
  const match = /^(\d+)(ms|s|m|h|d)$/.exec(text);
  if (!match) return undefined;
  const unit = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[match[2] as 'ms' | 's' | 'm' | 'h' | 'd'];
  return Number(match[1]) * unit;
}

/** The timer schedule (NCRONTAB with seconds) that runs every `ms`: whole seconds or minutes dividing a minute or an hour, or hours dividing a day. */
export function everySchedule(ms: number): string | undefined {
  const divides = (unit: number, whole: number) => ms % unit === 0 && whole % (ms / unit) === 0;
  if (ms < 60_000 && divides(1_000, 60)) return `*/${ms / 1_000} * * * * *`;
  if (ms < 3_600_000 && divides(60_000, 60)) return `0 */${ms / 60_000} * * * *`;
  if (ms < 86_400_000 && divides(3_600_000, 24)) return `0 0 */${ms / 3_600_000} * * *`;
  return undefined;
}

/** NCRONTAB with seconds, as Azure Functions timers take it: six fields. */
export const NCRONTAB = /^\S+(\s+\S+){5}$/;
