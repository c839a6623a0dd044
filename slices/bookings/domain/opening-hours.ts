import * as z from 'zod';
import { err, issuesOf, ok, type Issue, type Result } from '../../../shared/kernel/result';

/** Days of the week, Monday first (ISO 8601). */
export const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;

/** A day of the week. */
export type Weekday = (typeof WEEKDAYS)[number];

/** The time zone the workshop works in when the configuration names none. */
export const DEFAULT_TIME_ZONE = 'Europe/Berlin';

// `24:00` is allowed as a closing time so a shop can stay open until midnight.
const TIME = /^(?:(?:[01]\d|2[0-3]):[0-5]\d|24:00)$/;

/** A local wall-clock time `HH:MM`. */
export const wallClockSchema = z.string().regex(TIME, 'Expected a time HH:MM');

/** Opening and closing time of one day (local wall time; the slot must fit in between). */
export const dayHoursSchema = z
  .strictObject({ open: wallClockSchema, close: wallClockSchema })
  .refine((day) => minutesOf(day.open) < minutesOf(day.close), { message: 'Opening time must be before closing time' });

/** An IANA time zone name that this runtime knows (`Europe/Berlin`). */
export const timeZoneSchema = z.string().refine(isTimeZone, { message: 'Unknown time zone' });

/** Opening hours as data: per weekday either hours or `null` (closed), in one IANA time zone. */
export const openingHoursSchema = z.strictObject({
  timeZone: timeZoneSchema,
  days: z.strictObject(Object.fromEntries(WEEKDAYS.map((day) => [day, dayHoursSchema.nullable()])) as Record<Weekday, z.ZodNullable<typeof dayHoursSchema>>),
});

/** Opening hours of the workshop (and therefore of pick-up slots). */
export type OpeningHours = z.infer<typeof openingHoursSchema>;

/** Opening hours of one day. */
export type DayHours = z.infer<typeof dayHoursSchema>;

const WORKDAY = { open: '07:00', close: '19:00' };

/** Mon–Sat 07:00–19:00 Europe/Berlin. */
export const DEFAULT_OPENING_HOURS: OpeningHours = {
  timeZone: DEFAULT_TIME_ZONE,
  days: { mon: WORKDAY, tue: WORKDAY, wed: WORKDAY, thu: WORKDAY, fri: WORKDAY, sat: WORKDAY, sun: null },
};

const SEGMENT = /^([a-z]{3}(?:\s*-\s*[a-z]{3})?(?:\s*,\s*[a-z]{3}(?:\s*-\s*[a-z]{3})?)*)\s+(\S+)\s*-\s*(\S+)$/i;

/**
 * Schema of the compact form `Mon-Fri 07:00-19:00; Sat 08:00-14:00` (days not named are closed; day
 * lists like `Mon,Wed` and wrapping ranges like `Sat-Mon` work), producing `OpeningHours` in `timeZone`.
 * A function because the time zone is configured separately from the hours.
 */
export function openingHoursSpecSchema(timeZone: string = DEFAULT_TIME_ZONE) {
  return z
    .string()
    .max(500)
    .transform((spec, ctx) => {
      const days: Record<Weekday, DayHours | null> = { mon: null, tue: null, wed: null, thu: null, fri: null, sat: null, sun: null };
      const segments = spec
        .split(';')
        .map((segment) => segment.trim())
        .filter((segment) => segment !== '');
      if (segments.length === 0) ctx.addIssue({ code: 'custom', message: 'No opening hours given', input: spec });
      segments.forEach((segment, index) => {
        const problem = applySegment(segment, days);
        if (problem) ctx.addIssue({ code: 'custom', path: [index], message: `"${segment}": ${problem}`, input: spec });
      });
      return { timeZone, days };
    })
    .pipe(openingHoursSchema);
}

/** Why opening hours were refused. */
export interface OpeningHoursError {
  code: 'INVALID_OPENING_HOURS';
  issues: Issue[];
}

/** Parses the compact form (see `openingHoursSpecSchema`). */
export function parseOpeningHours(spec: string, timeZone: string = DEFAULT_TIME_ZONE): Result<OpeningHours, OpeningHoursError> {
  const parsed = openingHoursSpecSchema(timeZone).safeParse(spec);
  return parsed.success ? ok(parsed.data) : err({ code: 'INVALID_OPENING_HOURS', issues: issuesOf(parsed.error) });
}

/** Fills `days` from one `Mon-Fri 07:00-19:00` segment; returns what is wrong with it, if anything. */
function applySegment(segment: string, days: Record<Weekday, DayHours | null>): string | undefined {
  const match = SEGMENT.exec(segment);
  if (!match) return 'expected days and hours like "Mon-Fri 07:00-19:00"';
  const [, dayList = '', open = '', close = ''] = match;
  if (!TIME.test(open) || !TIME.test(close)) return 'times must be HH:MM';
  if (minutesOf(open) >= minutesOf(close)) return 'opening time must be before closing time';
  const named: Weekday[] = [];
  for (const part of dayList.split(',')) {
    const [first = '', last = first] = part.split('-').map((name) => name.trim().toLowerCase());
    const from = WEEKDAYS.indexOf(first as Weekday);
    const to = WEEKDAYS.indexOf(last as Weekday);
    if (from < 0 || to < 0) return `unknown day in "${part.trim()}" (use Mon Tue Wed Thu Fri Sat Sun)`;
    for (let offset = 0; offset <= (to - from + 7) % 7; offset += 1) named.push(WEEKDAYS[(from + offset) % 7] as Weekday);
  }
  // A day given twice is almost certainly a typo, and "last one wins" would hide it.
  const twice = named.find((day, index) => days[day] !== null || named.indexOf(day) !== index);
  if (twice) return `${twice} is given more than once`;
  for (const day of named) days[day] = { open, close };
  return undefined;
}

/** Limits on a pick-up slot besides the opening hours. */
export const slotRulesSchema = z.strictObject({
  /** The jockeys need time to plan: a slot must start at least this long after now. */
  minLeadMinutes: z
    .number()
    .int()
    .min(0)
    .max(60 * 24 * 30),
  /** A wider window is useless to a customer and blocks a driver. */
  maxSlotMinutes: z
    .number()
    .int()
    .min(1)
    .max(60 * 24),
  /** Bookings further ahead than this are refused (prices and capacity are not planned that far). */
  maxDaysAhead: z.number().int().min(1).max(730),
});

/** Limits on a pick-up slot besides the opening hours. */
export type SlotRules = z.infer<typeof slotRulesSchema>;

/** Two hours' notice, windows of up to four hours, at most 90 days ahead. */
export const DEFAULT_SLOT_RULES: SlotRules = { minLeadMinutes: 120, maxSlotMinutes: 240, maxDaysAhead: 90 };

/** Stable codes for why a slot was refused. */
export type SlotProblemCode =
  | 'END_NOT_AFTER_START'
  | 'START_IN_PAST'
  | 'LEAD_TIME_TOO_SHORT'
  | 'TOO_FAR_AHEAD'
  | 'SLOT_TOO_LONG'
  | 'SPANS_DAYS'
  | 'CLOSED_DAY'
  | 'OUTSIDE_OPENING_HOURS';

/** One reason a slot was refused, with the field it concerns. */
export interface SlotProblem {
  code: SlotProblemCode;
  field: 'slotStart' | 'slotEnd';
  message: string;
}

/** A slot is fine, or every reason it is not. */
export type SlotCheck = { ok: true } | { ok: false; reasons: SlotProblem[] };

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;

/**
 * Checks a pick-up slot `[slotStart, slotEnd)` against the rules and the opening hours, judged in the
 * local wall time of `hours.timeZone` (so a Saturday 07:00 is 07:00 in winter and in summer time).
 * All reasons are returned, not just the first, so the customer can fix everything at once.
 * Invalid `Date`s are a bug of the caller (the request schema only lets real instants through) and throw.
 */
export function checkSlot(hours: OpeningHours, slotStart: Date, slotEnd: Date, now: Date, rules: SlotRules): SlotCheck {
  const start = instant(slotStart, 'slotStart');
  const end = instant(slotEnd, 'slotEnd');
  const current = instant(now, 'now');
  const reasons: SlotProblem[] = [];
  const add = (code: SlotProblemCode, field: SlotProblem['field'], message: string) => reasons.push({ code, field, message });

  if (end <= start) add('END_NOT_AFTER_START', 'slotEnd', 'The slot must end after it starts');
  else if (end - start > rules.maxSlotMinutes * MINUTE) add('SLOT_TOO_LONG', 'slotEnd', `A slot may last at most ${rules.maxSlotMinutes} minutes`);
  if (start < current) add('START_IN_PAST', 'slotStart', 'The slot starts in the past');
  else if (start < current + rules.minLeadMinutes * MINUTE)
    add('LEAD_TIME_TOO_SHORT', 'slotStart', `The slot must start at least ${rules.minLeadMinutes} minutes from now`);
  if (start > current + rules.maxDaysAhead * DAY) add('TOO_FAR_AHEAD', 'slotStart', `The slot must start within ${rules.maxDaysAhead} days`);

  const local = wallTime(start, hours.timeZone);
  const day = hours.days[local.weekday];
  if (!day) {
    add('CLOSED_DAY', 'slotStart', `Closed on ${DAY_NAMES[local.weekday]} (${hours.timeZone})`);
  } else {
    const open = minutesOf(day.open) * MINUTE;
    const close = minutesOf(day.close) * MINUTE;
    if (local.msOfDay < open || local.msOfDay >= close)
      add('OUTSIDE_OPENING_HOURS', 'slotStart', `${DAY_NAMES[local.weekday]} slots run ${day.open}–${day.close} (${hours.timeZone})`);
    if (end > start) {
      // The slot is half-open: its last instant is end - 1 ms, so a slot ending at midnight stays on its day.
      const last = wallTime(end - 1, hours.timeZone);
      if (last.date !== local.date) add('SPANS_DAYS', 'slotEnd', 'The slot must start and end on the same day');
      else if (last.msOfDay + 1 > close)
        add('OUTSIDE_OPENING_HOURS', 'slotEnd', `${DAY_NAMES[local.weekday]} slots run ${day.open}–${day.close} (${hours.timeZone})`);
    }
  }
  return reasons.length === 0 ? { ok: true } : { ok: false, reasons };
}

const DAY_NAMES: Record<Weekday, string> = {
  mon: 'Monday',
  tue: 'Tuesday',
  wed: 'Wednesday',
  thu: 'Thursday',
  fri: 'Friday',
  sat: 'Saturday',
  sun: 'Sunday',
};

function instant(date: Date, name: string): number {
  const ms = date.getTime();
  if (Number.isNaN(ms)) throw new RangeError(`checkSlot: ${name} is an invalid Date`);
  return ms;
}

function minutesOf(time: string): number {
  return Number(time.slice(0, 2)) * 60 + Number(time.slice(3, 5));
}

// The runtime lists its canonical zone names cheaply; building a formatter (the check that also knows
// aliases such as Europe/Kiev) loads the time-zone data, ~15 ms the first time, which reading the
// configuration at a cold start should not pay: the first slot check does.
let canonicalZones: ReadonlySet<string> | undefined;

function isTimeZone(timeZone: string): boolean {
  canonicalZones ??= new Set(Intl.supportedValuesOf('timeZone'));
  if (canonicalZones.has(timeZone)) return true;
  try {
    formatterFor(timeZone);
    return true;
  } catch {
    return false;
  }
}

// A zone's offset from UTC at an instant comes from a formatter that renders only the offset; the wall
// time follows by UTC arithmetic. A formatter with the date and time fields costs several times as much
// to build (ICU generates its pattern), which every cold instance's first slot check paid. One formatter
// per time zone (this cache holds no state of the domain).
const offsetFormatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let formatter = offsetFormatters.get(timeZone);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat('en-US', { timeZone, timeZoneName: 'longOffset' });
    offsetFormatters.set(timeZone, formatter);
  }
  return formatter;
}

// `GMT`, `GMT+01:00`, `GMT-03:30`, and for local mean time before standard zones `GMT+00:53:28`.
const OFFSET = /^GMT(?:([+-])(\d{2}):(\d{2})(?::(\d{2}))?)?$/;

/** The offset of `timeZone` from UTC at the instant `ms`, in ms (east positive). */
function offsetMs(ms: number, timeZone: string): number {
  const name = formatterFor(timeZone)
    .formatToParts(ms)
    .find((part) => part.type === 'timeZoneName')?.value;
  const match = OFFSET.exec(name ?? '');
  if (!match) throw new RangeError(`unexpected UTC offset "${name}" of ${timeZone}`);
  if (!match[1]) return 0;
  return (match[1] === '-' ? -1 : 1) * ((Number(match[2]) * 60 + Number(match[3])) * 60 + Number(match[4] ?? 0)) * 1000;
}

/** The local calendar date, weekday and time of day (in ms) of an instant in a time zone. */
function wallTime(ms: number, timeZone: string): { date: string; weekday: Weekday; msOfDay: number } {
  // The instant shifted by the offset reads, in UTC, as the local wall time.
  const local = new Date(ms + offsetMs(ms, timeZone));
  const weekday = WEEKDAYS[(local.getUTCDay() + 6) % 7] as Weekday;
  const date = local.toISOString().slice(0, 10);
  const msOfDay = ((local.getUTCHours() * 60 + local.getUTCMinutes()) * 60 + local.getUTCSeconds()) * 1000 + local.getUTCMilliseconds();
  return { date, weekday, msOfDay };
}
