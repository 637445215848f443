/** The recorder of ingest's replay fixture: deterministic, gateway-shaped, and the faults show. */
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { DEMO_SITE_FILE, loadSiteFile, telemetryBatch, type TelemetryBatch } from '@vigil/model';
import { record, scenarioStartOn } from './record.ts';
import { loadScenarioFile, SCENARIOS_DIR } from './scenario.ts';

const site = loadSiteFile(DEMO_SITE_FILE);
const scenario = loadScenarioFile(join(SCENARIOS_DIR, 'demo-day.yaml'));
const start = scenarioStartOn(scenario, site.site.timezone, '2026-03-10');

/** 04:25–04:40 of the day: around booster-1's cavitation (04:30–04:33). */
function window(seed: number): { batches: TelemetryBatch[]; rec: ReturnType<typeof record> } {
  const batches: TelemetryBatch[] = [];
  const shifted = { ...scenario, steps: scenario.steps.map((s) => ({ ...s, at: s.at - 4.5 * 3_600_000 + 5 * 60_000 })) };
  const rec = record({ site, scenario: shifted, start: start + 4.5 * 3_600_000 - 5 * 60_000, durationMs: 15 * 60_000, stepMs: 1000, seed, onBatch: (b) => batches.push(b) });
  return { batches, rec };
}

describe('record', () => {
  it('starts the demo day at 06:00 in the site zone', () => {
    expect(new Date(start).toISOString()).toBe('2026-03-09T22:00:00.000Z');
  });

  it('gives the same batches for the same seed, and other ones for another', () => {
    const a = window(1).batches;
    expect(JSON.stringify(window(1).batches)).toBe(JSON.stringify(a));
    expect(JSON.stringify(window(2).batches)).not.toBe(JSON.stringify(a));
  });

  it('writes valid gateway batches: seq from 1 per device, samples by exception, heartbeat within 60 s', () => {
    const { batches, rec } = window(1);
    expect(rec.batches).toBe(batches.length);
    const seqs = new Map<string, number>();
    const lastTs = new Map<string, number>();
    for (const b of batches) {
      expect(telemetryBatch.check(b).ok).toBe(true);
      expect(b.seq).toBe((seqs.get(b.device) ?? 0) + 1);
      seqs.set(b.device, b.seq);
      for (const s of b.samples) {
        const last = lastTs.get(s.point);
        if (last !== undefined) expect(s.ts - last).toBeLessThanOrEqual(60_000);
        lastTs.set(s.point, s.ts);
      }
    }
    // Every point of every Modbus device is reported at least once (first poll).
    const points = site.devices.filter((d) => d.protocol === 'modbus-tcp').flatMap((d) => d.points.map((p) => p.id));
    expect(new Set(lastTs.keys())).toEqual(new Set(points));
  });

  it('shows the cavitation: fault code 208 and the header below 0.6 MPa while it lasts, recovered after', () => {
    const { batches, rec } = window(1);
    const cav = rec.faults.filter((f) => f.fault === 'cavitation');
    expect(cav.map((f) => [f.action, f.applied])).toEqual([['inject', true], ['clear', true]]);
    const [from, to] = [cav[0]!.ts, cav[1]!.ts];
    const samples = batches.flatMap((b) => b.samples);
    const pressure = samples.filter((s) => s.point === 'pump-b1-2.discharge_pressure');
    expect(pressure.filter((s) => s.ts >= from + 5000 && s.ts < to).every((s) => (s.value as number) < 0.6)).toBe(true);
    expect(pressure.filter((s) => s.ts < from || s.ts >= to + 10_000).every((s) => (s.value as number) > 0.7)).toBe(true);
    expect(samples.find((s) => s.point === 'pump-b1-1.fault_code' && s.ts >= from && s.ts < to)?.value).toBe(208);
  });
});
