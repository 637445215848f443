import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { DEMO_SITE_FILE, loadSiteFile, parseSite, SiteError, type SiteProblem } from './index.ts';

const demoText = readFileSync(DEMO_SITE_FILE, 'utf8');

function problemsOf(text: string): SiteProblem[] {
  try {
    parseSite(text, 'test.yaml');
  } catch (err) {
    expect(err).toBeInstanceOf(SiteError);
    return (err as SiteError).problems;
  }
  throw new Error('the site file was accepted');
}

function lineOf(text: string, needle: string): number {
  return text.split('\n').findIndex((l) => l.includes(needle)) + 1;
}

describe('site file loader', () => {
  it('loads the bundled demo site with its defaults applied', () => {
    const site = loadSiteFile(DEMO_SITE_FILE);
    expect(site.site.id).toBe('demo');
    expect(site.buildings[0]!.floors).toHaveLength(22);
    expect(site.buildings[0]!.floors.map((f) => f.level).slice(0, 3)).toEqual([-2, -1, 0]);
    expect(site.devices.slice(0, 3).map((d) => ('port' in d ? d.port : null))).toEqual([15021, 15022, 15023]);
    // Every endpoint has its own port: the demo's port plan.
    const ports = site.devices.flatMap((d) => ('port' in d ? [d.port] : []));
    expect(new Set(ports).size).toBe(ports.length);
    expect(site.assets.filter((a) => a.class === 'door')).toHaveLength(60);
    expect(site.assets.filter((a) => a.class === 'camera')).toHaveLength(40);
    const pressure = site.devices[0]!.points.find((p) => p.id === 'pump-b1-1.discharge_pressure')!;
    if (!('modbus' in pressure)) throw new Error('a Modbus point expected');
    expect(pressure.modbus).toEqual({ table: 'holding', address: 2, type: 'float32', wordOrder: 'big', byteOrder: 'big' });
    expect(pressure.scale).toBe(1);
    expect(site.detectors[0]).toMatchObject({ type: 'threshold', lo: 0.6, deadband: 0.05, onDelayMs: 2000, offDelayMs: 0, latching: false });
    expect(site.roster.people.map((p) => p.username)).toEqual(['technician', 'technician2', 'security']);
    expect(site.sla.p2.respondMin).toBe(30);
  });

  it('names file, line and field for a wrong type', () => {
    const text = demoText.replace('port: 15022', 'port: seventy');
    const [p] = problemsOf(text);
    expect(p).toMatchObject({ file: 'test.yaml', field: 'devices[1].port', line: lineOf(text, 'port: seventy') });
    expect(p!.message).toMatch(/integer/);
  });

  it('explains an id that breaks the id rule', () => {
    const text = demoText.replace('id: tower\n', 'id: Tower A\n');
    const [p] = problemsOf(text);
    expect(p).toMatchObject({ field: 'buildings[0].id', line: lineOf(text, 'id: Tower A') });
    expect(p!.message).toMatch(/lower-case/);
  });

  it('points at the parent when a required field is missing', () => {
    const text = demoText.replace('    protocol: modbus-tcp\n    host: 127.0.0.1\n    port: 15021\n', '    protocol: modbus-tcp\n    host: 127.0.0.1\n');
    const problems = problemsOf(text);
    expect(problems.some((p) => p.field === 'devices[0].port' && p.line === lineOf(text, '- id: booster-1'))).toBe(true);
  });

  it('catches a misspelt field instead of ignoring it', () => {
    const text = demoText.replace('onDelayMs: 2000', 'onDelay: 2000');
    const problems = problemsOf(text);
    expect(problems.map((p) => p.field)).toContain('detectors[0].onDelay');
  });

  it('checks references: unknown building, unknown point, duplicate ids', () => {
    expect(problemsOf(demoText.replace('building: tower, floor: b1, department: technical, criticality: high }\n  - { id: pump-b1-2', 'building: annex, floor: b1, department: technical, criticality: high }\n  - { id: pump-b1-2'))[0]).toMatchObject({
      field: 'assets[0].building',
    });
    expect(problemsOf(demoText.replace('point: pump-b1-2.discharge_pressure', 'point: pump-b1-2.no_such_point'))[0]).toMatchObject({
      field: 'detectors[1].point',
      message: "unknown point 'pump-b1-2.no_such_point'",
    });
    const dup = problemsOf(demoText.replace('id: booster-2', 'id: booster-1'));
    expect(dup[0]).toMatchObject({ field: 'devices[1].id' });
    expect(dup[0]!.message).toMatch(/duplicate device id/);
  });

  it('rejects a point whose asset does not exist and a non-bool coil', () => {
    const problems = problemsOf(demoText.replace('{ id: pump-b1-2.running, modbus: { table: discrete, address: 0, type: bool }', '{ id: pump-b9.running, modbus: { table: discrete, address: 0, type: uint16 }'));
    expect(problems.map((p) => p.message)).toEqual(expect.arrayContaining([expect.stringMatching(/asset 'pump-b9'/), expect.stringMatching(/type must be bool/)]));
  });

  it('takes a bit only for a bool kept in a register', () => {
    const problems = problemsOf(
      demoText
        .replace('{ id: pump-b1-2.running, modbus: { table: discrete, address: 0, type: bool }', '{ id: pump-b1-2.running, modbus: { table: discrete, address: 0, type: bool, bit: 1 }')
        .replace(/modbus: \{ table: holding, address: 2, type: float32 \}/, 'modbus: { table: holding, address: 2, type: float32, bit: 3 }'),
    );
    expect(problems.map((p) => [p.field.split('.').at(-1), p.message])).toEqual(
      expect.arrayContaining([
        ['bit', "a discrete is a bit already: drop 'bit'"],
        ['bit', "'bit' picks one bit of a register: type must be bool"],
      ]),
    );
  });

  it('reports YAML syntax errors with their line', () => {
    const text = 'site:\n  id: x\n  name: [unclosed\n';
    const [p] = problemsOf(text);
    expect(p!.field).toBe('(yaml)');
    expect(p!.line).toBeGreaterThan(1);
  });

  it('rejects a file that is not a mapping, and an unreadable file', () => {
    expect(problemsOf('- just\n- a list\n')[0]!.message).toMatch(/mapping/);
    expect(() => loadSiteFile('/nonexistent/site.yaml')).toThrow(/cannot read the site file/);
  });
});

describe('devices of every protocol', () => {
  const base = demoText.split('\ndevices:')[0] + '\ndetectors: []\ndevices:\n';
  it('accepts BACnet/IP and MQTT devices', () => {
    const site = parseSite(
      base +
        [
          '  - { id: panel, protocol: bacnet-ip, port: 47901, instance: 1001, points: [{ id: pump-b1-1.fire, bacnet: { type: 22, instance: 1, cov: true } }] }',
          '  - { id: doors, protocol: mqtt, topic: vendor/acme/demo, points: [{ id: pump-b1-2.door, mqtt: { topic: doors/+/state, pointer: /open, type: boolean } }] }',
        ].join('\n') + '\n',
      'test.yaml',
    );
    expect(site.devices[0]).toMatchObject({ protocol: 'bacnet-ip', host: '127.0.0.1', instance: 1001, points: [{ bacnet: { type: 22, instance: 1, property: 85, cov: true } }] });
    expect(site.devices[1]).toMatchObject({ protocol: 'mqtt', topic: 'vendor/acme/demo', points: [{ mqtt: { topic: 'doors/+/state', pointer: '/open', type: 'boolean' } }] });
  });

  it('names the field of the protocol branch that is wrong, and an unknown protocol', () => {
    const text = base + '  - { id: panel, protocol: bacnet-ip, port: 47901, instance: -3 }\n';
    expect(problemsOf(text)[0]).toMatchObject({ field: 'devices[0].instance', line: lineOf(text, 'id: panel') });
    const unknown = problemsOf(base + '  - { id: x, protocol: knx, port: 1 }\n')[0]!;
    expect(unknown.field).toBe('devices[0].protocol');
    expect(unknown.message).toBe('must be one of protocol: modbus-tcp | bacnet-ip | mqtt');
  });
});
