/** Scenario files: validation with file, line and field; the shipped scenarios against the demo site. */
import { basename } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pino from 'pino';
import { DEMO_SITE_FILE, loadSiteFile, type Site } from '@vigil/model';
import { useFreePorts } from '../../testing/index.ts';
import { startSimulators, type RunningSimulators } from '../index.ts';
import { SIMULATOR_MODELS } from '../models.ts';
import { LocalTime } from '../mqtt/bridge.ts';
import { checkScenario, loadScenarioFile, parseScenario, scenarioClock, ScenarioError, shippedScenarioFiles } from './scenario.ts';

function problems(text: string): Array<{ line: number; field: string; message: string }> {
  try {
    parseScenario(text, 'bad.yaml');
  } catch (err) {
    if (err instanceof ScenarioError) return err.problems.map(({ line, field, message }) => ({ line, field, message }));
    throw err;
  }
  throw new Error('expected a ScenarioError');
}

describe('scenario files', () => {
  it('parses steps into offsets and actions', () => {
    const s = parseScenario(
      ['name: demo', 'description: two steps', 'speed: 60', "start: '02:10'", 'steps:', "  - { at: '00:00:30', device: vms-bridge, inject: intrusion, params: { camera: cam-b1-03 } }", "  - { at: '26:00:00', device: vms-bridge, clear: intrusion }"].join('\n'),
    );
    expect(s).toMatchObject({ name: 'demo', speed: 60, start: '02:10' });
    expect(s.steps).toEqual([
      { at: 30_000, device: 'vms-bridge', action: 'inject', fault: 'intrusion', params: { camera: 'cam-b1-03' } },
      { at: 26 * 3_600_000, device: 'vms-bridge', action: 'clear', fault: 'intrusion' },
    ]);
  });

  it('names the file, line and field of each problem', () => {
    const text = [
      'name: Night Intrusion', // 1
      'speed: -3', // 2
      'steps:', // 3
      "  - at: '0:10'", // 4
      '    device: vms-bridge', // 5
      '    inject: intrusion', // 6
      '    injct: tamper', // 7
    ].join('\n');
    const found = problems(text);
    expect(found).toEqual(
      expect.arrayContaining([
        { line: 1, field: 'name', message: expect.stringContaining('lower-case') },
        { line: 1, field: 'description', message: 'is required' },
        { line: 2, field: 'speed', message: expect.stringContaining('greater than 0') },
        { line: 4, field: 'steps[0].at', message: expect.stringContaining("'HH:MM:SS'") },
        { line: 7, field: 'steps[0].injct', message: 'is not a scenario field (a typo?)' },
      ]),
    );
    expect(() => parseScenario(text, 'bad.yaml')).toThrow(/^bad\.yaml:1:1: description: is required\nbad\.yaml:1:7: name: .*\nbad\.yaml:2:8: speed: .*\nbad\.yaml:4:9: steps\[0\]\.at: .*\nbad\.yaml:7:12: steps\[0\]\.injct: /);
  });

  it('wants exactly one of inject or clear, steps in time order, and no params on clear', () => {
    const text = [
      'name: s',
      'description: d',
      'steps:',
      "  - { at: '00:10:00', device: a, inject: x, clear: x }", // 4
      "  - { at: '00:05:00', device: a, clear: x, params: { n: 1 } }", // 5
      "  - { at: '00:10:00', device: a }", // 6
    ].join('\n');
    expect(problems(text)).toEqual([
      { line: 4, field: 'steps[0]', message: 'a step has exactly one of inject: FAULT or clear: FAULT' },
      { line: 5, field: 'steps[1].at', message: expect.stringContaining('time order') },
      { line: 5, field: 'steps[1].params', message: 'params go with inject; clear takes none' },
      { line: 6, field: 'steps[2]', message: 'a step has exactly one of inject: FAULT or clear: FAULT' },
    ]);
    expect(problems('steps: [')[0]).toMatchObject({ field: '(yaml)' });
    expect(problems('- just a list')[0]).toMatchObject({ line: 1, message: expect.stringContaining('mapping') });
  });

  it('starts its clock at the most recent start time of day in the site zone, at its speed', () => {
    const s = parseScenario("name: s\ndescription: d\nspeed: 600\nstart: '02:10'\nsteps: [{ at: '00:00:00', device: a, inject: x }]");
    const now = Date.UTC(2025, 2, 4, 3, 0); // 11:00 in Shanghai
    const clock = scenarioClock(s, 'Asia/Shanghai', { now });
    const local = new LocalTime('Asia/Shanghai');
    expect(clock.speed).toBe(600);
    expect(local.iso(clock.now())).toMatch(/^2025-03-04T02:10:00/);
    expect(local.iso(scenarioClock(s, 'Asia/Shanghai', { now: Date.UTC(2025, 2, 3, 17, 0) }).now())).toMatch(/^2025-03-03T02:10:00/); // 01:00 local → yesterday's
  });
});

describe('shipped scenarios against the demo site', () => {
  let site: Site;
  let sims: RunningSimulators;
  const files = shippedScenarioFiles();

  beforeAll(async () => {
    site = loadSiteFile(DEMO_SITE_FILE);
    await useFreePorts(site);
    const used = [...new Set(files.flatMap((f) => loadScenarioFile(f).steps.map((s) => s.device)))];
    // Only the devices the scenarios drive, and only those whose model is here (others arrive in parallel).
    const available = used.filter((id) => SIMULATOR_MODELS.has(site.devices.find((d) => d.id === id)?.simulator?.model ?? ''));
    sims = await startSimulators({ site, log: pino({ level: 'silent' }), devices: available });
  });
  afterAll(() => sims?.close());

  it('ships the four scenarios of the issue', () => {
    expect(files.map((f) => basename(f))).toEqual(expect.arrayContaining(['fire-b1.yaml', 'lift-entrapment-evening.yaml', 'night-intrusion.yaml', 'pump-bearing-day.yaml']));
  });

  it.each(files.map((f) => [basename(f), f]))('%s: devices exist, faults exist where the model is here, params are accepted', (_name, file) => {
    const scenario = loadScenarioFile(file);
    checkScenario(scenario, site, sims.endpoints);
    const served = new Set(sims.endpoints.map((e) => e.device));
    for (const step of scenario.steps.filter((s) => served.has(s.device))) {
      if (step.action === 'inject') sims.inject(step.device, step.fault, step.params);
      else sims.clear(step.device, step.fault);
    }
    // Each scenario ends with everything it injected cleared.
    expect(sims.endpoints.filter((e) => served.has(e.device)).flatMap((e) => e.faults.filter((f) => f.active).map((f) => `${e.device}:${f.name}`))).toEqual([]);
  });

  it('reports unknown devices and faults with the line of the step', () => {
    const s = parseScenario(["name: s", 'description: d', 'steps:', "  - { at: '00:00:00', device: lift-99, inject: entrapment }", "  - { at: '00:00:00', device: access-bridge, inject: door-melted }"].join('\n'), 's.yaml');
    expect(() => checkScenario(s, site, sims.endpoints)).toThrow(
      /s\.yaml:4:\d+: steps\[0\]\.device: no device 'lift-99' in site 'demo'\ns\.yaml:5:\d+: steps\[1\]\.inject: device 'access-bridge' \(model access-control\) has no fault 'door-melted'; its faults: door-forced, held-open/,
    );
  });
});
