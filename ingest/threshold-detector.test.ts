import { describe, expect, it } from 'vitest';
import type { Quality, ThresholdDetector as Config } from '@vigil/model';
import { ThresholdDetector } from './threshold-detector.ts';

const POINT = 'pump-b1-1.discharge_pressure';

function config(over: Partial<Config> = {}): Config {
  return {
    id: 'low-pressure',
    type: 'threshold',
    point: POINT,
    deadband: 0,
    onDelayMs: 0,
    offDelayMs: 0,
    priority: 2,
    department: 'technical',
    category: 'pump-low-pressure',
    message: 'Pressure low',
    latching: false,
    ...over,
  };
}

const sample = (ts: number, value: number | boolean | string | null, quality: Quality = 'good') => ({ point: POINT, ts, value, quality });

/** Feeds [ts, value] pairs; returns the actions in order with the ts that produced them. */
function run(d: ThresholdDetector, values: Array<[number, number | null, Quality?]>): string[] {
  const out: string[] = [];
  for (const [ts, v, q] of values) {
    const r = d.update(sample(ts, v, q ?? 'good'));
    if (r) out.push(`${r.action}@${ts}`);
  }
  return out;
}

describe('ThresholdDetector', () => {
  it('raises below lo and clears at or above it', () => {
    const d = new ThresholdDetector(config({ lo: 0.6 }), 'MPa');
    expect(run(d, [[0, 0.8], [1000, 0.59], [2000, 0.5], [3000, 0.6], [4000, 0.7]])).toEqual(['activate@1000', 'clear@3000']);
  });

  it('raises above hi', () => {
    const d = new ThresholdDetector(config({ hi: 1.0 }));
    expect(run(d, [[0, 1.0], [1, 1.01], [2, 0.99]])).toEqual(['activate@1', 'clear@2']);
  });

  it('holds the alarm inside the deadband (hysteresis)', () => {
    const d = new ThresholdDetector(config({ lo: 0.6, deadband: 0.05 }));
    // 0.62 and 0.649 are above the limit but inside the band: still in alarm; 0.65 clears.
    expect(run(d, [[0, 0.5], [1, 0.62], [2, 0.649], [3, 0.58], [4, 0.65]])).toEqual(['activate@0', 'clear@4']);
  });

  it('waits the on-delay in sample time, and a good value restarts the wait', () => {
    const d = new ThresholdDetector(config({ lo: 0.6, onDelayMs: 3000 }), 'MPa');
    const out = run(d, [
      [0, 0.5],
      [2000, 0.5],
      [2500, 0.7], // back to normal before 3 s: no alarm
      [3000, 0.5],
      [5000, 0.5],
      [5999, 0.5],
      [6000, 0.4],
    ]);
    expect(out).toEqual(['activate@6000']);
  });

  it('explains the activation: rule text, the deciding values, limit, deadband and on-delay', () => {
    const d = new ThresholdDetector(config({ lo: 0.6, deadband: 0.05, onDelayMs: 3000 }), 'MPa');
    d.update(sample(1000, 0.55));
    d.update(sample(2000, 0.52));
    const r = d.update(sample(4000, 0.5));
    expect(r?.action).toBe('activate');
    expect(r?.explanation).toEqual({
      rule: 'discharge_pressure < 0.6 MPa for 3 s',
      values: [
        { ts: 1000, value: 0.55 },
        { ts: 2000, value: 0.52 },
        { ts: 4000, value: 0.5 },
      ],
      limit: 0.6,
      deadband: 0.05,
      onDelayMs: 3000,
    });
  });

  it('waits the off-delay before clearing', () => {
    const d = new ThresholdDetector(config({ lo: 0.6, offDelayMs: 2000 }));
    const out = run(d, [
      [0, 0.5],
      [1000, 0.7],
      [2000, 0.7],
      [2500, 0.5], // low again: the off-delay starts over
      [3000, 0.7],
      [4999, 0.7],
      [5000, 0.7],
    ]);
    expect(out).toEqual(['activate@0', 'clear@5000']);
    const d2 = new ThresholdDetector(config({ lo: 0.6, deadband: 0.1, offDelayMs: 2000 }));
    d2.update(sample(0, 0.5));
    expect(d2.update(sample(1000, 0.8))).toBeNull();
    expect(d2.update(sample(3000, 0.8))?.explanation.rule).toBe('discharge_pressure ≥ 0.7 for 2 s');
  });

  it('ignores out-of-order samples', () => {
    const d = new ThresholdDetector(config({ lo: 0.6, onDelayMs: 1000 }));
    expect(run(d, [[5000, 0.5], [3000, 0.5], [4000, 0.5], [5500, 0.5], [6000, 0.5]])).toEqual(['activate@6000']);
  });

  it('ignores NaN, null, strings and bad quality, neither raising nor clearing on them', () => {
    const d = new ThresholdDetector(config({ lo: 0.6 }));
    expect(d.update(sample(0, Number.NaN))).toBeNull();
    expect(d.update(sample(1, null))).toBeNull();
    expect(d.update(sample(2, 'low'))).toBeNull();
    expect(d.update(sample(3, 0.1, 'bad'))).toBeNull();
    expect(d.active).toBe(false);
    expect(d.update(sample(4, 0.1, 'uncertain'))?.action).toBe('activate');
    expect(d.update(sample(5, 0.9, 'bad'))).toBeNull();
    expect(d.update(sample(6, Number.POSITIVE_INFINITY))).toBeNull();
    expect(d.active).toBe(true);
  });

  it('a bad-quality sample does not restart the on-delay', () => {
    const d = new ThresholdDetector(config({ lo: 0.6, onDelayMs: 3000 }));
    expect(run(d, [[0, 0.5], [1000, 0.9, 'bad'], [3000, 0.5]])).toEqual(['activate@3000']);
  });

  it('can start active, so an alarm left open by the previous run clears', () => {
    const d = new ThresholdDetector(config({ lo: 0.6 }), 'MPa', true);
    expect(d.update(sample(0, 0.8))?.action).toBe('clear');
  });
});
