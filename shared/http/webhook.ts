import type { ZodType } from 'zod';
import type { Verification } from '../function-table';
import { fieldErrorsFromZod, malformedJson, validationFailed } from './problem';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The event of a webhook whose signature has been checked: its raw body parsed as JSON and by the
 * event's schema; 400 when it is not JSON, 422 (listing the fields) when it is not the event.
 */
export function parseSignedJson<Event>(rawBody: Buffer, schema: ZodType<Event>): Verification<Event> {
  let json: unknown;
  try {
    json = JSON.parse(utf8.decode(rawBody));
  } catch {
    return { ok: false, response: malformedJson() };
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) return { ok: false, response: validationFailed(fieldErrorsFromZod(parsed.error.issues, 'body')) };
  return { ok: true, event: parsed.data };
}
