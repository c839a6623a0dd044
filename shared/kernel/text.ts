import * as z from 'zod';

// C0 and C1 control characters; tab and line breaks are allowed only in multi-line text.
const CONTROL = /\p{Cc}/u;
const CONTROL_BUT_LINES = /(?![\t\n\r])\p{Cc}/u;
// Under the u flag a surrogate pair reads as one code point: what is still a surrogate is alone.
const LONE_SURROGATE = /\p{Cs}/u;

/**
 * Free text as the hub accepts it at the edge: well-formed Unicode (no lone surrogates), no control
 * characters (tab and newlines only in multi-line text), NFC-normalised and trimmed, within bounds —
 * so everything stored can travel on to Stripe, Odoo, e-mails and Table Storage unchanged.
 */
export function textSchema(options: { max: number; min?: number; multiline?: boolean }) {
  const control = options.multiline ? CONTROL_BUT_LINES : CONTROL;
  return z
    .string()
    .refine((value) => !LONE_SURROGATE.test(value), 'Must be well-formed Unicode text')
    .refine(
      (value) => !control.test(value),
      options.multiline ? 'Must not contain control characters other than tab and line breaks' : 'Must not contain control characters',
    )
    .transform((value) => value.normalize('NFC').trim())
    .pipe(
      z
        .string()
        .min(options.min ?? 1, options.min === 0 ? undefined : 'Must not be empty')
        .max(options.max),
    );
}
