/** The telemetry batch encoder writes what JSON.stringify writes, for any batch the schema allows. */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { telemetryBatch, type Sample } from './index.ts';

const id = fc.stringMatching(/^[a-z0-9][a-z0-9_-]{0,10}$/);
const sample: fc.Arbitrary<Sample> = fc
  .record(
    {
      point: fc.tuple(id, id).map(([a, p]) => `${a}.${p}`),
      ts: fc.integer({ min: 0, max: 2 ** 45 }),
      // Any string: quotes, backslashes, control characters, lone surrogates, emoji.
      value: fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.integer(), fc.boolean(), fc.string({ unit: 'binary' }), fc.constant(null)),
      quality: fc.constantFrom('good' as const, 'uncertain' as const, 'bad' as const),
      reason: fc.string({ unit: 'binary', maxLength: 20 }),
    },
    { requiredKeys: ['point', 'ts', 'value', 'quality'] },
  );

describe('telemetryBatch.encode', () => {
  it('writes JSON.stringify’s bytes for any batch', () => {
    fc.assert(
      fc.property(id, id, fc.integer({ min: 1, max: 2 ** 40 }), fc.array(sample, { minLength: 1, maxLength: 30 }), (gateway, device, seq, samples) => {
        const batch = { gateway, device, seq, samples };
        expect(telemetryBatch.encode(batch)).toBe(JSON.stringify(batch));
      }),
      { numRuns: 2000 },
    );
  });

  it('writes a value JSON cannot carry (a non-finite number) as null, as JSON.stringify does', () => {
    const batch = { gateway: 'g', device: 'd', seq: 1, samples: [{ point: 'a.b', ts: 1, value: Number.POSITIVE_INFINITY, quality: 'bad' as const }] };
    expect(telemetryBatch.encode(batch)).toBe(JSON.stringify(batch));
    expect(telemetryBatch.decode(telemetryBatch.encode(batch))).toMatchObject({ ok: true });
  });
});
