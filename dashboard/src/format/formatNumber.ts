/**
 * A measured value for a table read at a distance: integers exactly; fractions with two decimals
 * from 1 up, one from 100 up, and three significant digits below 1. Fixed decimals keep a column steady.
 */
export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  if (Number.isInteger(value)) return String(value);
  const magnitude = Math.abs(value);
  const decimals = magnitude >= 100 ? 1 : magnitude >= 1 ? 2 : Math.min(6, 2 - Math.floor(Math.log10(magnitude)));
  const text = value.toFixed(decimals);
  // -0.0001 rounds to "-0.000…": a minus sign on zero only confuses.
  return /^-0(\.0*)?$/.test(text) ? text.slice(1) : text;
}
