import type { Static, TSchema } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';

export type Decoded<T> = { ok: true; value: T } | { ok: false; error: string };

export interface Codec<S extends TSchema> {
  readonly schema: S;
  /** Parses JSON and validates it; never throws. The error names the offending field. */
  decode(payload: Buffer | string): Decoded<Static<S>>;
  /** Validates an object already parsed. */
  check(value: unknown): Decoded<Static<S>>;
  encode(value: Static<S>): string;
}

/** A JSON codec that validates every message at the boundary (DESIGN.md, "Bus topics"). */
export function codec<S extends TSchema>(schema: S): Codec<S> {
  const compiled = TypeCompiler.Compile(schema);
  const check = (value: unknown): Decoded<Static<S>> => {
    if (compiled.Check(value)) return { ok: true, value };
    const first = compiled.Errors(value).First();
    const where = first?.path ? first.path : '(root)';
    return { ok: false, error: `${where}: ${first?.message ?? 'invalid'}` };
  };
  return {
    schema,
    check,
    decode(payload) {
      let value: unknown;
      try {
        value = JSON.parse(typeof payload === 'string' ? payload : payload.toString('utf8'));
      } catch (err) {
        return { ok: false, error: `not JSON: ${(err as Error).message}` };
      }
      return check(value);
    },
    encode: (value) => JSON.stringify(value),
  };
}
