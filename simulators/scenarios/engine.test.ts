/** The scenario engine: steps in order at their simulated times, at ×600 and on a clock the test moves. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pino from 'pino';
import { DEMO_SITE_FILE, loadSiteFile } from '@vigil/model';
import { eventually } from '../../testing/index.ts';
import { startSimulators, type RunningSimulators } from '../index.ts';
import { createSimClock, type SimClock } from '../clock.ts';
import { runScenario } from './engine.ts';
import { parseScenario } from './scenario.ts';

const MIN = 60_000;
const scenario = parseScenario(
  [
    'name: engine-test',
    'description: faults on both bridges, two steps at the same time',
    'steps:',
    "  - { at: '00:00:00', device: access-bridge, inject: door-forced, params: { door: door-b1-02 } }",
    "  - { at: '00:05:00', device: vms-bridge, inject: intrusion, params: { camera: cam-b2-01 } }",
    "  - { at: '00:10:00', device: vms-bridge, clear: intrusion }",
    "  - { at: '00:10:00', device: access-bridge, clear: door-forced }",
    "  - { at: '00:12:30', device: access-bridge, inject: reader-offline, params: { door: door-b1-02 } }",
  ].join('\n'),
  'engine-test.yaml',
);

describe('runScenario', () => {
  let sims: RunningSimulators;
  beforeAll(async () => {
    sims = await startSimulators({ site: loadSiteFile(DEMO_SITE_FILE), log: pino({ level: 'silent' }), devices: ['access-bridge', 'vms-bridge'] });
  });
  afterAll(() => sims?.close());
  const active = () => sims.endpoints.flatMap((e) => e.faults.filter((f) => f.active).map((f) => `${e.device}:${f.name}`));

  it('applies each step in order at its simulated time at ×600', async () => {
    const clock = createSimClock({ speed: 600 }); // 12.5 simulated minutes ≈ 1.25 s
    const run = runScenario(scenario, sims, clock);
    const result = await run.done;
    expect(result).toMatchObject({ completed: true, failed: 0 });
    expect(result.applied.map((a) => [a.index, a.due - run.start])).toEqual([
      [0, 0],
      [1, 5 * MIN],
      [2, 10 * MIN],
      [3, 10 * MIN],
      [4, 12.5 * MIN],
    ]);
    for (const a of result.applied) {
      expect(a.at).toBeGreaterThanOrEqual(a.due); // never early
      expect(a.at - a.due).toBeLessThan(3 * MIN); // and late by no more than 300 ms of real time
    }
    expect(active()).toEqual(['access-bridge:reader-offline']);
    sims.clear('access-bridge', 'reader-offline');
  });

  it('follows a clock the test moves by hand, a minute at a time', async () => {
    let now = Date.UTC(2025, 2, 4, 18, 0);
    const clock: SimClock = { speed: 1, now: () => now };
    const run = runScenario(scenario, sims, clock, { maxWaitMs: 2 });
    const dueBy = (minute: number) => scenario.steps.filter((s) => s.at <= minute * MIN).length;
    for (let minute = 0; minute <= 13; minute++) {
      // The clock stands still until the test moves it: the engine must catch up, and never run ahead.
      await eventually(() => run.applied.length === dueBy(minute), 5000, 2);
      await new Promise((r) => setTimeout(r, 5));
      expect(run.applied).toHaveLength(dueBy(minute));
      now += MIN;
    }
    const result = await run.done;
    expect(result.completed).toBe(true);
    // Each step is applied in the minute it falls due (12:30 in the 13th).
    expect(result.applied.map((a) => [a.index, (a.at - run.start) / MIN])).toEqual([
      [0, 0],
      [1, 5],
      [2, 10],
      [3, 10],
      [4, 13],
    ]);
    sims.clear('access-bridge', 'reader-offline');
  });

  it('records a failed step and goes on', async () => {
    const broken = parseScenario(
      ['name: broken', 'description: d', 'steps:', "  - { at: '00:00:00', device: vms-bridge, inject: melted }", "  - { at: '00:00:01', device: vms-bridge, inject: video-loss }"].join('\n'),
    );
    const result = await runScenario(broken, sims, createSimClock({ speed: 100 })).done;
    expect(result.failed).toBe(1);
    expect(result.applied.map((a) => [a.ok, a.error?.slice(0, 20)])).toEqual([
      [false, "no fault 'melted' on"],
      [true, undefined],
    ]);
    sims.clear('vms-bridge', 'video-loss');
  });

  it('can be cancelled before its next step', async () => {
    const run = runScenario(scenario, sims, createSimClock({ speed: 1 }));
    while (run.applied.length === 0) await new Promise((r) => setTimeout(r, 5));
    run.cancel();
    const result = await run.done;
    expect(result.completed).toBe(false);
    expect(result.applied).toHaveLength(1);
    expect(active()).toEqual(['access-bridge:door-forced']);
    sims.clear('access-bridge', 'door-forced');
  });
});
