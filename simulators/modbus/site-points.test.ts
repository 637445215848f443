import { describe, expect, it } from 'vitest';
import { DEMO_SITE_FILE, loadSiteFile, splitPointId } from '@vigil/model';
import { MODBUS_MODELS } from './index.ts';
import { MAPS } from './map-reads.ts';

describe('the demo site\'s Modbus points', () => {
  const site = loadSiteFile(DEMO_SITE_FILE);
  const modbus = site.devices.filter((d) => d.protocol === 'modbus-tcp');

  it('every Modbus device of the demo has a registered model', () => {
    expect(modbus.length).toBe(14);
    for (const d of modbus) expect(MODBUS_MODELS.map((m) => m.name)).toContain(d.simulator?.model);
    expect(Object.keys(MAPS).sort()).toEqual(MODBUS_MODELS.map((m) => m.name).sort());
  });

  it('list exactly the simulator\'s register map: address, type, scale, unit, states (regenerate from the map if this fails)', () => {
    for (const d of modbus) {
      const asset = splitPointId(d.points[0]!.id).asset;
      const expected = MAPS[d.simulator!.model]!.sitePoints(asset).map(({ tags: _t, deadband: _d, ...p }) => p);
      const actual = d.points.map(({ tags: _t, deadband: _d, name: _n, ...p }) => p);
      expect(actual, d.id).toEqual(expected);
      for (const p of d.points) expect(p.tags.length, p.id).toBeGreaterThan(0);
    }
  });
});
