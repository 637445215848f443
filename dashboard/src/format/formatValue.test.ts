import { describe, expect, it } from 'vitest';
import { formatValue } from './formatValue.ts';

const words = { on: 'On', off: 'Off' };

describe('formatValue', () => {
  it('adds the unit to numbers', () => {
    expect(formatValue(4.2667, 'bar', words)).toBe('4.27 bar');
    expect(formatValue(12, undefined, words)).toBe('12');
  });

  it('shows booleans as words, null as a dash and strings as they are', () => {
    expect(formatValue(true, undefined, words)).toBe('On');
    expect(formatValue(false, 'ignored', words)).toBe('Off');
    expect(formatValue(null, 'bar', words)).toBe('—');
    expect(formatValue('door-open', undefined, words)).toBe('door-open');
  });
});
