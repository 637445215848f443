import { describe, expect, it } from 'vitest';
import type { Device, Sample } from '@vigil/model';
import { ReportByException } from './report-by-exception.ts';

const device = {
  id: 'd',
  heartbeatMs: 10_000,
  points: [
    { id: 'a.pressure', deadband: 0.5 },
    { id: 'a.run', deadband: 0 },
  ],
} as unknown as Device;

const s = (point: string, ts: number, value: Sample['value'], quality: Sample['quality'] = 'good', reason?: string): Sample => ({
  point,
  ts,
  value,
  quality,
  ...(reason ? { reason } : {}),
});

describe('ReportByException', () => {
  it('sends the first sample, then only changes past the deadband measured from the last sent', () => {
    const rbe = new ReportByException(device);
    expect(rbe.filter([s('a.pressure', 0, 10)])).toHaveLength(1);
    expect(rbe.filter([s('a.pressure', 1, 10.4)])).toEqual([]);
    expect(rbe.filter([s('a.pressure', 2, 10.5)])).toEqual([]); // not more than the deadband
    expect(rbe.filter([s('a.pressure', 3, 10.6)]).map((x) => x.value)).toEqual([10.6]);
    expect(rbe.filter([s('a.pressure', 4, 10.2)])).toEqual([]); // creeping back stays inside the band of 10.6
    expect(rbe.filter([s('a.pressure', 5, 10.0)]).map((x) => x.value)).toEqual([10.0]);
  });

  it('sends booleans on change and any change of quality or reason', () => {
    const rbe = new ReportByException(device);
    rbe.filter([s('a.run', 0, true), s('a.pressure', 0, 1)]);
    expect(rbe.filter([s('a.run', 1, true)])).toEqual([]);
    expect(rbe.filter([s('a.run', 2, false)])).toHaveLength(1);
    expect(rbe.filter([s('a.pressure', 3, null, 'bad', 'timeout')])).toHaveLength(1);
    expect(rbe.filter([s('a.pressure', 4, null, 'bad', 'timeout')])).toEqual([]);
    expect(rbe.filter([s('a.pressure', 5, null, 'bad', 'exception')])).toHaveLength(1);
    expect(rbe.filter([s('a.pressure', 6, 1)])).toHaveLength(1);
  });

  it('republishes an unchanged point once its heartbeat is due', () => {
    const rbe = new ReportByException(device);
    rbe.filter([s('a.pressure', 0, 1)]);
    expect(rbe.filter([s('a.pressure', 9_999, 1)])).toEqual([]);
    expect(rbe.filter([s('a.pressure', 10_000, 1)])).toHaveLength(1);
    expect(rbe.filter([s('a.pressure', 15_000, 1)])).toEqual([]);
  });

  it('keeps points the site file does not list (an MQTT source may bring them), however many', () => {
    const rbe = new ReportByException(device);
    const extra = Array.from({ length: 50 }, (_, i) => s(`a.extra${i}`, 0, i));
    expect(rbe.filter(extra)).toHaveLength(50);
    expect(rbe.filter(extra.map((x) => ({ ...x, ts: 1 })))).toEqual([]);
    expect(rbe.filter([s('a.extra49', 2, 50), s('a.extra0', 2, 'text'), s('a.pressure', 2, 3)]).map((x) => x.point)).toEqual(['a.extra49', 'a.extra0', 'a.pressure']);
    expect(rbe.filter([s('a.extra0', 3, 'text'), s('a.extra0', 4, 0)]).map((x) => x.value)).toEqual([0]);
  });
});
