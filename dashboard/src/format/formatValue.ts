import type { Sample } from '../model.ts';
import { formatNumber } from './formatNumber.ts';

export interface BooleanWords {
  on: string;
  off: string;
}

/** A sample's value with its unit: numbers rounded (formatNumber), booleans as words, null as a dash. */
export function formatValue(value: Sample['value'], unit: string | undefined, words: BooleanWords): string {
  if (value === null) return '—';
  if (typeof value === 'boolean') return value ? words.on : words.off;
  if (typeof value === 'string') return value;
  const text = formatNumber(value);
  return unit ? `${text} ${unit}` : text;
}
