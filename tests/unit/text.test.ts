import { describe, expect, it } from 'vitest';
import { textSchema } from '../../shared/kernel/text';

describe('textSchema', () => {
  const name = textSchema({ max: 10 });
  const note = textSchema({ max: 100, multiline: true });

  it('normalises to NFC and trims', () => {
    expect(name.parse('  Cafe\u0301 ')).toBe('Café');
  });

  it('refuses control characters, lone surrogates, empty and over-long text', () => {
    for (const bad of ['a\u0000b', 'tab\there', 'line\nbreak', 'c1\u0085', '\ud800x', 'x\udc00', '   ', 'x'.repeat(11)]) {
      expect(name.safeParse(bad).success, JSON.stringify(bad)).toBe(false);
    }
  });

  it('lets multi-line text keep tabs and line breaks, nothing else', () => {
    expect(note.parse('first line\n\tsecond')).toBe('first line\n\tsecond');
    expect(note.safeParse('bell\u0007').success).toBe(false);
  });
});
