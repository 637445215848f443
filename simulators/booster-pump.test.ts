import { describe, expect, it } from 'vitest';
import { BoosterPump, BOOSTER_PUMP_MAP as MAP, FAULT_CODES, TICK_MS, SimError } from './index.ts';

/** Engineering values as a master would decode them from the registers. */
function read(pump: BoosterPump) {
  const h = pump.bank.holding;
  const buf = Buffer.alloc(4);
  buf.writeUInt16BE(h[MAP.dischargePressure]!, 0);
  buf.writeUInt16BE(h[MAP.dischargePressure + 1]!, 2);
  return {
    running: pump.bank.discreteInputs[MAP.running],
    speedPct: h[MAP.speed]! * 0.01,
    currentA: h[MAP.motorCurrent]! * 0.1,
    pressureMPa: buf.readFloatBE(0),
    faultCode: h[MAP.faultCode],
  };
}
const ticks = (seconds: number) => Math.round((seconds * 1000) / TICK_MS);
function run(pump: BoosterPump, seconds: number) {
  const out = [];
  for (let i = 0; i < ticks(seconds); i++) {
    pump.step();
    out.push(read(pump));
  }
  return out;
}
const range = (xs: number[]) => Math.max(...xs) - Math.min(...xs);
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

describe('booster-pump model', () => {
  it('is deterministic from its seed', () => {
    expect(run(new BoosterPump({ seed: 42 }), 10)).toEqual(run(new BoosterPump({ seed: 42 }), 10));
    expect(run(new BoosterPump({ seed: 42 }), 10)).not.toEqual(run(new BoosterPump({ seed: 43 }), 10));
  });

  it('answers demand with plausible values: 70–85 % speed drifting, 0.80 ± 0.01 MPa, ~18 A', () => {
    const series = run(new BoosterPump({ seed: 7 }), 300);
    for (const s of series) {
      expect(s.running).toBe(true);
      expect(s.speedPct).toBeGreaterThanOrEqual(70);
      expect(s.speedPct).toBeLessThanOrEqual(85);
      expect(Math.abs(s.pressureMPa - 0.8)).toBeLessThanOrEqual(0.0101);
      expect(s.currentA).toBeGreaterThan(15);
      expect(s.currentA).toBeLessThan(21.5);
      expect(s.faultCode).toBe(0);
    }
    expect(range(series.map((s) => s.speedPct))).toBeGreaterThan(1); // it drifts
    expect(range(series.map((s) => s.pressureMPa))).toBeGreaterThan(0.005); // it is noisy
    // Current scales with speed.
    const bySpeed = [...series].sort((a, b) => a.speedPct - b.speedPct);
    const tenth = Math.floor(series.length / 10);
    expect(mean(bySpeed.slice(-tenth).map((s) => s.currentA))).toBeGreaterThan(mean(bySpeed.slice(0, tenth).map((s) => s.currentA)));
  });

  it('cavitation: pressure falls to ~0.45 MPa and oscillates, current fluctuates, fault code 208; clear recovers within 2 s', () => {
    const pump = new BoosterPump({ seed: 3 });
    const healthy = run(pump, 10);
    pump.inject('cavitation');
    run(pump, 2);
    const cavitating = run(pump, 10);
    expect(mean(cavitating.map((s) => s.pressureMPa))).toBeCloseTo(0.45, 1);
    expect(range(cavitating.map((s) => s.pressureMPa))).toBeGreaterThan(0.1);
    expect(range(cavitating.map((s) => s.currentA))).toBeGreaterThan(2 * range(healthy.map((s) => s.currentA)));
    for (const s of cavitating) {
      expect(s.faultCode).toBe(FAULT_CODES.cavitation);
      expect(s.pressureMPa).toBeLessThan(0.6);
    }
    expect(pump.bank.discreteInputs[MAP.faultPresent]).toBe(true);

    pump.clear('cavitation');
    run(pump, 2);
    for (const s of run(pump, 5)) {
      expect(Math.abs(s.pressureMPa - 0.8)).toBeLessThan(0.015);
      expect(s.faultCode).toBe(0);
    }
  });

  it('severity scales the drop', () => {
    const pump = new BoosterPump({ seed: 3 });
    pump.inject('cavitation', { severity: 0.5 });
    run(pump, 3);
    expect(mean(run(pump, 10).map((s) => s.pressureMPa))).toBeCloseTo(0.625, 1);
  });

  it('a run command of 0 stops the pump at once; the head decays toward the static 0.1 MPa', () => {
    const pump = new BoosterPump({ seed: 5 });
    run(pump, 2);
    pump.bank.writeCoils(MAP.runCommand, [false]);
    expect(read(pump)).toMatchObject({ running: false, speedPct: 0, currentA: 0 });
    const stopped = run(pump, 20);
    expect(stopped.at(-1)!.pressureMPa).toBeLessThan(0.11);
    expect(stopped.at(-1)!.pressureMPa).toBeGreaterThan(0.09);
    pump.bank.writeCoils(MAP.runCommand, [true]);
    const restarted = run(pump, 3).at(-1)!;
    expect(restarted.running).toBe(true);
    expect(restarted.speedPct).toBeGreaterThan(70);
    expect(restarted.pressureMPa).toBeGreaterThan(0.78);
  });

  it('refuses unknown faults and bad params with SimError codes', () => {
    const pump = new BoosterPump({ seed: 1 });
    const codeOf = (f: () => void) => {
      try {
        f();
      } catch (err) {
        expect(err).toBeInstanceOf(SimError);
        return (err as SimError).code;
      }
      return 'none';
    };
    expect(codeOf(() => pump.inject('overheat'))).toBe('not-found');
    expect(codeOf(() => pump.clear('overheat'))).toBe('not-found');
    expect(codeOf(() => pump.inject('cavitation', { severity: 2 }))).toBe('invalid');
    expect(codeOf(() => pump.inject('cavitation', { severity: 'high' }))).toBe('invalid');
    expect(codeOf(() => pump.inject('cavitation', { colour: 'red' }))).toBe('invalid');
    expect(pump.faults().every((f) => !f.active)).toBe(true);
    pump.inject('cavitation');
    pump.inject('cavitation'); // idempotent
    expect(pump.faults().find((f) => f.name === 'cavitation')?.active).toBe(true);
  });
});
