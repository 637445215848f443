import { describe, expect, it } from 'vitest';
import { formatNumber } from './formatNumber.ts';

describe('formatNumber', () => {
  it('shows integers exactly', () => {
    expect(formatNumber(0)).toBe('0');
    expect(formatNumber(1450)).toBe('1450');
    expect(formatNumber(-3)).toBe('-3');
  });

  it('rounds fractions by magnitude', () => {
    expect(formatNumber(4.26789)).toBe('4.27');
    expect(formatNumber(4.2)).toBe('4.20');
    expect(formatNumber(123.456)).toBe('123.5');
    expect(formatNumber(0.5)).toBe('0.500');
    expect(formatNumber(0.012345)).toBe('0.0123');
    expect(formatNumber(-21.456)).toBe('-21.46');
  });

  it('never shows a negative zero or a runaway number of decimals', () => {
    expect(formatNumber(-0.0000001)).toBe('0.000000');
    expect(formatNumber(1e-12)).toBe('0.000000');
  });

  it('passes non-finite values through', () => {
    expect(formatNumber(Number.NaN)).toBe('NaN');
    expect(formatNumber(Number.POSITIVE_INFINITY)).toBe('Infinity');
  });
});
