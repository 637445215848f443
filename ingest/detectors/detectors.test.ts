import { describe, expect, it } from 'vitest';
import type { DetectorConfig, DetectorInstance, DeviceEvent, Device, Quality, SampleValue } from '@vigil/model';
import { CombinedDetector, CommLossDetector, DeviationDetector, EventDetector, FlatlineDetector, RateOfChangeDetector, StateDetector, ThresholdDetector } from './index.ts';
import type { DetectorDecision, SampleDetector } from './detector.ts';

const common = { priority: 2, department: 'technical', category: 'cat', message: 'Something wrong', latching: false } as const;
function inst<C extends DetectorConfig>(config: Omit<C, keyof typeof common> & Partial<typeof common>, asset = 'pump-b1-1', point?: string): DetectorInstance & { config: C; point: string } {
  const p = point ?? (config as { point?: string }).point;
  return { config: { ...common, ...config } as unknown as C, asset, ...(p ? { point: p } : {}) } as DetectorInstance & { config: C; point: string };
}
const P = 'pump-b1-1.discharge_pressure';
const sample = (ts: number, value: SampleValue, quality: Quality = 'good', point = P) => ({ point, ts, value, quality });
/** Feeds [ts, value, quality?, point?] rows; returns `action@ts[:sub]` in order. */
function run(d: SampleDetector, rows: Array<[number, SampleValue, Quality?, string?]>): string[] {
  return rows.flatMap(([ts, v, q, p]) => d.update(sample(ts, v, q ?? 'good', p ?? P)).map((r) => `${r.action}@${ts}${r.alarm.key.split(':')[2] ? `:${r.alarm.key.split(':')[2]}` : ''}`));
}
const threshold = (over: Record<string, unknown>) => new ThresholdDetector(inst({ id: 'low', type: 'threshold', point: P, deadband: 0, onDelayMs: 0, offDelayMs: 0, ...over } as never), 'MPa');

describe('ThresholdDetector', () => {
  it('raises below lo and clears at or above it; one alarm key per limit', () => {
    expect(run(threshold({ lo: 0.6 }), [[0, 0.8], [1000, 0.59], [2000, 0.5], [3000, 0.6], [4000, 0.7]])).toEqual(['activate@1000:lo', 'clear@3000:lo']);
    const d = threshold({ lolo: 0.4, lo: 0.6, hi: 1.0, hihi: 1.2, priorities: { lolo: 1, hihi: 1 } });
    expect(d.alarms.map((a) => `${a.key} p${a.priority} ${a.message}`)).toEqual([
      'low:pump-b1-1.discharge_pressure:lolo p1 Something wrong (low-low)',
      'low:pump-b1-1.discharge_pressure:lo p2 Something wrong (low)',
      'low:pump-b1-1.discharge_pressure:hi p2 Something wrong (high)',
      'low:pump-b1-1.discharge_pressure:hihi p1 Something wrong (high-high)',
    ]);
    expect(run(d, [[0, 0.8], [1, 0.5], [2, 0.3], [3, 0.5], [4, 1.3], [5, 0.8]])).toEqual(['activate@1:lo', 'activate@2:lolo', 'clear@3:lolo', 'clear@4:lo', 'activate@4:hi', 'activate@4:hihi', 'clear@5:hi', 'clear@5:hihi']);
  });

  it('holds the alarm inside the deadband and waits the on/off delays in sample time', () => {
    expect(run(threshold({ lo: 0.6, deadband: 0.05 }), [[0, 0.5], [1, 0.62], [2, 0.649], [3, 0.58], [4, 0.65]])).toEqual(['activate@0:lo', 'clear@4:lo']);
    expect(run(threshold({ lo: 0.6, onDelayMs: 3000 }), [[0, 0.5], [2000, 0.5], [2500, 0.7], [3000, 0.5], [5999, 0.5], [6000, 0.4]])).toEqual(['activate@6000:lo']);
    expect(run(threshold({ lo: 0.6, offDelayMs: 2000 }), [[0, 0.5], [1000, 0.7], [2500, 0.5], [3000, 0.7], [5000, 0.7]])).toEqual(['activate@0:lo', 'clear@5000:lo']);
  });

  it('explains the activation: rule, the deciding values, limit, deadband, on-delay', () => {
    const d = threshold({ lo: 0.6, deadband: 0.05, onDelayMs: 3000 });
    d.update(sample(1000, 0.55));
    d.update(sample(2000, 0.52));
    expect(d.update(sample(4000, 0.5))[0]?.explanation).toEqual({
      rule: 'discharge_pressure < 0.6 MPa for 3 s',
      values: [{ ts: 1000, value: 0.55 }, { ts: 2000, value: 0.52 }, { ts: 4000, value: 0.5 }],
      limit: 0.6,
      deadband: 0.05,
      onDelayMs: 3000,
    });
  });

  it('ignores NaN, null, strings, bad quality, duplicates and out-of-order samples', () => {
    const d = threshold({ lo: 0.6, onDelayMs: 1000 });
    expect(run(d, [[0, Number.NaN], [1, null], [2, 'low'], [3, 0.1, 'bad'], [4, Number.POSITIVE_INFINITY]])).toEqual([]);
    // 5000 starts the run; the older 3000 and the duplicate 5000 (a good value!) must not break it.
    expect(run(d, [[5000, 0.5], [3000, 0.9], [5000, 0.9], [5500, 0.5], [6000, 0.5]])).toEqual(['activate@6000:lo']);
    expect(run(d, [[7000, 0.9, 'bad']])).toEqual([]);
  });

  it('a gap keeps the run (values are reported by exception) and a skewed clock shifts, not changes, the alarms', () => {
    expect(run(threshold({ lo: 0.6, onDelayMs: 3000 }), [[0, 0.5], [600_000, 0.5]])).toEqual(['activate@600000:lo']);
    const rows: Array<[number, number]> = [[0, 0.8], [1000, 0.5], [3000, 0.5], [4500, 0.5], [5000, 0.9]];
    const skew = -3_600_000; // the device's clock is an hour behind
    const a = run(threshold({ lo: 0.6, onDelayMs: 3000 }), rows);
    const b = run(threshold({ lo: 0.6, onDelayMs: 3000 }), rows.map(([t, v]) => [t + 10 * 3_600_000 + skew, v]));
    expect(b.map((x) => x.replace(/@(\d+)/, (_, t) => `@${Number(t) - 10 * 3_600_000 - skew}`))).toEqual(a);
  });

  it('can start active, so an alarm left open by the previous run clears', () => {
    const d = new ThresholdDetector(inst({ id: 'low', type: 'threshold', point: P, lo: 0.6, deadband: 0, onDelayMs: 0, offDelayMs: 0 } as never), '', () => true);
    expect(d.update(sample(0, 0.8))[0]?.action).toBe('clear');
  });
});

describe('RateOfChangeDetector', () => {
  const d = () => new RateOfChangeDetector(inst({ id: 'drop', type: 'rate-of-change', point: P, fall: 0.2, windowMs: 60_000 } as never), 'MPa');
  it('raises on a fall within the window, counting the value held since before it (report by exception)', () => {
    const out = d();
    expect(run(out, [[0, 0.8], [300_000, 0.7], [310_000, 0.55], [400_000, 0.55]])).toEqual(['activate@310000', 'clear@400000']);
    const r = d();
    r.update(sample(0, 0.8));
    expect(r.update(sample(30_000, 0.5))[0]?.explanation).toMatchObject({ rule: 'discharge_pressure fell 0.3 MPa within 1 min (limit 0.2 MPa)', limit: 0.2, windowMs: 60_000, values: [{ ts: 0, value: 0.8 }, { ts: 30_000, value: 0.5 }] });
  });
  it('a bad sample (a gap in knowledge) starts the window over; NaN, duplicates and old samples are ignored', () => {
    expect(run(d(), [[0, 0.8], [1000, null, 'bad'], [2000, 0.5], [3000, Number.NaN], [1500, 0.9], [2000, 0.9], [3000, 0.45]])).toEqual([]);
  });
});

describe('FlatlineDetector', () => {
  const RUN = 'pump-b1-1.running';
  const d = () => new FlatlineDetector(inst({ id: 'stuck', type: 'flatline', point: P, tolerance: 0.001, windowMs: 60_000, running: 'running' } as never));
  it('raises when the value does not move for the window while running, and clears when it moves or stops', () => {
    expect(run(d(), [[0, true, 'good', RUN], [0, 0.8], [30_000, 0.8], [61_000, 0.8005], [70_000, 0.85], [200_000, 0.85]])).toEqual(['activate@61000', 'clear@70000', 'activate@200000']);
    expect(run(d(), [[0, true, 'good', RUN], [0, 0.8], [61_000, 0.8], [62_000, false, 'good', RUN], [200_000, 0.8]])).toEqual(['activate@61000', 'clear@62000']);
  });
  it('does not judge while stopped, and ignores NaN, bad, duplicate and out-of-order samples', () => {
    expect(run(d(), [[0, 0.8], [100_000, 0.8]])).toEqual([]);
    expect(run(d(), [[0, true, 'good', RUN], [0, 0.8], [10_000, 5, 'bad'], [20_000, Number.NaN], [20_000, 0.8], [15_000, 3], [20_000, 3], [61_000, 0.8]])).toEqual(['activate@61000']);
  });
});

describe('DeviationDetector', () => {
  const VIB = 'pump-b1-1.vibration';
  /** Deterministic noise in [-1, 1]. */
  const noise = (i: number) => Math.sin(i * 12.9898) * 0.999;
  it('learns a baseline, then catches a slow rise well before a fixed limit of 4.5 mm/s', () => {
    const d = new DeviationDetector(inst({ id: 'vib-drift', type: 'deviation', point: VIB, zLimit: 4, alpha: 0.01, warmup: 200, perHourOfWeek: false, direction: 'high', minSigma: 0, onDelayMs: 0 } as never), 'mm/s');
    let raised: DetectorDecision | undefined;
    for (let i = 0; i < 2000 && !raised; i++) {
      const v = 2 + 0.1 * noise(i) + (i > 500 ? (i - 500) * 0.002 : 0); // +0.12 mm/s per minute after sample 500
      raised = d.update(sample(i * 1000, v, 'good', VIB))[0];
    }
    expect(raised?.action).toBe('activate');
    const seen = Number(raised!.explanation.values.at(-1)!.value);
    expect(seen).toBeLessThan(3); // caught below zone B/C (2.8) or near it, far below C/D 4.5
    expect(raised!.explanation.details).toMatchObject({ zLimit: 4 });
    expect(raised!.explanation.rule).toMatch(/σ from its baseline 2/);
  });
  it('stays quiet during warm-up and on noise, and ignores NaN, bad, duplicate and older samples', () => {
    const d = new DeviationDetector(inst({ id: 'v', type: 'deviation', point: VIB, zLimit: 4, alpha: 0.05, warmup: 50, perHourOfWeek: false, direction: 'both', minSigma: 0.01, onDelayMs: 0 } as never));
    const out: string[] = [];
    for (let i = 0; i < 400; i++) out.push(...d.update(sample(i * 1000, 2 + 0.1 * noise(i), 'good', VIB)).map((r) => r.action));
    for (const [ts, v, q] of [[400_000, Number.NaN, 'good'], [401_000, 50, 'bad'], [100_000, 50, 'good'], [399_000, 50, 'good']] as const) out.push(...d.update(sample(ts, v, q, VIB)).map((r) => r.action));
    expect(out).toEqual([]);
    expect(d.baseline(0)!.mean).toBeCloseTo(2, 1);
  });
  it('keeps one baseline per hour of the week in the site time zone', () => {
    const d = new DeviationDetector(inst({ id: 'v', type: 'deviation', point: VIB, zLimit: 4, alpha: 0.1, warmup: 5, perHourOfWeek: true, direction: 'high', minSigma: 0.1, onDelayMs: 0 } as never), '', () => false, 'Asia/Shanghai');
    const monday9 = Date.UTC(2026, 0, 5, 1, 0); // 09:00 Monday in Shanghai
    for (let w = 0; w < 10; w++) d.update(sample(monday9 + w * 7 * 86_400_000, 5, 'good', VIB));
    expect(d.baseline(monday9)!.mean).toBe(5);
    expect(d.baseline(monday9 + 3_600_000)).toBeUndefined();
  });
});

describe('StateDetector', () => {
  const FIRE = 'fire-zone-f03.state';
  const d = () =>
    new StateDetector(
      inst({ id: 'fire', type: 'state', point: FIRE, onDelayMs: 0, alarms: [{ name: 'fire', values: [2, 5], priority: 1, latching: true }, { name: 'pre-alarm', values: [1, 4] }, { name: 'fault', values: [3, 4, 5], priority: 3 }] } as never, 'fire-zone-f03'),
      { 0: 'quiet', 1: 'pre-alarm', 2: 'alarm', 3: 'fault' },
    );
  it('raises each named state as its own alarm, latching the fire alarm', () => {
    const det = d();
    expect(det.alarms.map((a) => `${a.key}:${a.priority}:${a.latching}`)).toEqual(['fire:fire-zone-f03.state:fire:1:true', 'fire:fire-zone-f03.state:pre-alarm:2:false', 'fire:fire-zone-f03.state:fault:3:false']);
    expect(run(det, [[0, 0, 'good', FIRE], [1, 1, 'good', FIRE], [2, 2, 'good', FIRE], [3, 5, 'good', FIRE], [4, 0, 'good', FIRE]])).toEqual(['activate@1:pre-alarm', 'activate@2:fire', 'clear@2:pre-alarm', 'activate@3:fault', 'clear@4:fire', 'clear@4:fault']);
    expect(d().update(sample(9, 2, 'good', FIRE))[0]?.explanation.rule).toBe('state = 2 (alarm)');
  });
  it('a state must hold for the on-delay (door held open 30 s); NaN, bad and older samples are ignored', () => {
    const door = new StateDetector(inst({ id: 'held', type: 'state', point: 'door-f01-01.status', onDelayMs: 30_000, alarms: [{ name: 'open', values: ['open'] }] } as never, 'door-f01-01'));
    const D = 'door-f01-01.status';
    expect(run(door, [[0, 'open', 'good', D], [20_000, 'closed', 'good', D], [25_000, 'open', 'good', D], [40_000, 'closed', 'bad', D], [24_000, 'closed', 'good', D], [55_000, 'open', 'good', D]])).toEqual(['activate@55000:open']);
  });
});

describe('StateDetector on a boolean point', () => {
  // A lift's passenger-alarm button (EN 81-28): `false` must never match the `pressed: [true]` state.
  it('matches true (or 1) only, never false', () => {
    const B = 'lift-1.alarm_button';
    const button = () => new StateDetector(inst({ id: 'btn', type: 'state', point: B, onDelayMs: 0, alarms: [{ name: 'pressed', values: [true] }] } as never, 'lift-1'));
    expect(run(button(), [[0, false, 'good', B], [1, false, 'good', B]])).toEqual([]);
    expect(run(button(), [[0, false, 'good', B], [1, true, 'good', B], [2, false, 'good', B], [3, 1, 'good', B]])).toEqual(['activate@1:pressed', 'clear@2:pressed', 'activate@3:pressed']);
  });
});

describe('EventDetector', () => {
  const ev = (ts: number, type: string, data?: Record<string, string>): DeviceEvent => ({ asset: 'door-f01-01', ts, type, ...(data ? { data } : {}) });
  const burst = () => new EventDetector(inst({ id: 'denied', type: 'event', class: 'door', event: 'access-denied', count: 3, windowMs: 60_000 } as never, 'door-f01-01'));
  const feed = (d: EventDetector, events: DeviceEvent[]) => events.flatMap((e) => d.update(e).map((r) => `${r.action}@${e.ts}`));
  it('raises a burst of N within the window, momentarily, and counts duplicates and old events once', () => {
    expect(feed(burst(), [ev(0, 'access-denied'), ev(70_000, 'access-denied'), ev(80_000, 'access-denied'), ev(80_000, 'access-denied'), ev(50_000, 'access-denied'), ev(90_000, 'access-granted'), ev(100_000, 'access-denied', { card: '42' })])).toEqual([
      'activate@100000',
      'clear@100000',
    ]);
    const d = burst();
    const [raised] = [ev(0, 'access-denied'), ev(1, 'access-denied'), ev(2, 'access-denied', { card: '7' })].flatMap((e) => d.update(e));
    expect(raised?.explanation).toMatchObject({ rule: '3 access-denied events within 1 min at door-f01-01', limit: 3, windowMs: 60_000, details: { count: 3, card: '7' } });
  });
  it('stays active until its clear event (camera video loss … restored)', () => {
    const cam = new EventDetector(inst({ id: 'video', type: 'event', class: 'camera', event: 'video-loss', clearEvent: 'video-restored', count: 1, windowMs: 0 } as never, 'door-f01-01'));
    expect(feed(cam, [ev(0, 'video-loss'), ev(5, 'video-loss'), ev(10, 'video-restored'), ev(20, 'video-loss')])).toEqual(['activate@0', 'clear@10', 'activate@20']);
  });
});

describe('CombinedDetector', () => {
  const L = (p: string) => `lift-1.${p}`;
  const d = () =>
    new CombinedDetector(
      inst({ id: 'entrapment', type: 'combined', class: 'elevator', forMs: 30_000, all: [{ point: 'direction', op: '==', value: 2 }, { point: 'door_zone', op: '==', value: false }, { point: 'door_status', op: '==', value: 0 }, { point: 'load', op: '>', value: 0 }] } as never, 'lift-1'),
    );
  it('raises when every condition holds for forMs, and clears when one breaks', () => {
    const det = d();
    const rows: Array<[number, SampleValue, Quality?, string?]> = [
      [0, 2, 'good', L('direction')],
      [0, false, 'good', L('door_zone')],
      [0, 0, 'good', L('door_status')],
      [1000, 40, 'good', L('load')], // all hold from here
      [20_000, 40, 'good', L('load')],
      [31_000, 40, 'good', L('load')],
      [40_000, 1, 'good', L('door_status')],
    ];
    expect(run(det, rows)).toEqual(['activate@31000', 'clear@40000']);
  });
  it('an unknown (bad) value breaks the condition; NaN and older samples are ignored', () => {
    const rows: Array<[number, SampleValue, Quality?, string?]> = [
      [0, 2, 'good', L('direction')],
      [0, false, 'good', L('door_zone')],
      [0, 0, 'good', L('door_status')],
      [0, 40, 'good', L('load')],
      [10_000, null, 'bad', L('load')],
      [20_000, Number.NaN, 'good', L('load')],
      [35_000, 3, 'good', L('direction')],
      [5000, 40, 'good', L('load')],
    ];
    expect(run(d(), rows)).toEqual([]);
  });
});

describe('CommLossDetector', () => {
  const device = { id: 'booster-1', protocol: 'modbus-tcp', pollIntervalMs: 1000, heartbeatMs: 10_000, points: [{ id: 'pump-b1-1.speed' }] } as unknown as Device;
  const make = () => new CommLossDetector([{ ...inst({ id: 'comm', type: 'comm-loss', silencePolls: 5 } as never, 'pump-b1-1'), device: 'booster-1' } as never], new Map([['booster-1', device]]));
  it('raises on silence (wall time, at least heartbeat + 2 polls) once heard, and clears when heard again', () => {
    const c = make();
    expect(c.silenceMs('booster-1')).toBe(12_000);
    expect(c.tick(100_000)).toEqual([]); // never heard: left to the gateway's status
    c.heard('booster-1', 100_000);
    expect(c.tick(111_999)).toEqual([]);
    const [lost] = c.tick(112_000);
    expect(lost).toMatchObject({ action: 'activate', alarm: { key: 'comm:booster-1', device: 'booster-1' }, explanation: { rule: 'nothing heard from booster-1 for 12 s' } });
    expect(c.lost()).toEqual(['booster-1']);
    expect(c.heard('booster-1', 113_000)[0]?.action).toBe('clear');
  });
  it('follows the gateway status and its last will', () => {
    const c = make();
    // A gateway that has not tried the device yet reports it 'offline (starting)': no news, no alarm.
    expect(c.status('gw-1', true, { 'booster-1': { state: 'offline', reason: 'starting', since: 1 } }, 2)).toEqual([]);
    expect(c.status('gw-1', true, { 'booster-1': { state: 'offline', reason: 'timeout', since: 5 } }, 10)[0]?.explanation.rule).toBe('booster-1 offline (timeout)');
    expect(c.status('gw-1', true, { 'booster-1': { state: 'online', since: 20 } }, 20)[0]?.action).toBe('clear');
    expect(c.status('gw-1', false, undefined, 30)[0]?.explanation.rule).toBe('booster-1 offline (gateway gw-1 offline)');
  });
});
