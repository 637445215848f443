/** A synthetic site for benchmarks: many points, a threshold detector on some of them. */
import { parseSite, type Site } from '@vigil/model';

export interface BenchSiteOptions {
  devices: number;
  pointsPerDevice: number;
  /** Threshold detectors (hi: 1000, no delay), spread over the devices' first points. */
  detectors: number;
  basePort?: number;
}

export const benchPointId = (device: number, point: number) => `bench-${device}.p${point}`;
export const BENCH_LIMIT = 1000;

export function benchSite(opts: BenchSiteOptions): Site {
  const lines = [
    'site: { id: bench, name: Benchmark site, timezone: UTC }',
    'buildings: [{ id: lab, name: Lab, floors: [{ id: f1, name: Floor 1, level: 0 }] }]',
    'assets:',
  ];
  for (let d = 0; d < opts.devices; d++) lines.push(`  - { id: bench-${d}, name: Bench asset ${d}, class: pump, building: lab, floor: f1, department: technical }`);
  lines.push('devices:');
  for (let d = 0; d < opts.devices; d++) {
    lines.push(`  - id: dev-${d}`, '    protocol: modbus-tcp', `    port: ${(opts.basePort ?? 20000) + d}`, '    points:');
    for (let p = 0; p < opts.pointsPerDevice; p++) lines.push(`      - { id: ${benchPointId(d, p)}, modbus: { table: holding, address: ${p} } }`);
  }
  lines.push('detectors:');
  for (let i = 0; i < opts.detectors; i++) {
    const d = i % opts.devices;
    const p = Math.floor(i / opts.devices) % opts.pointsPerDevice;
    lines.push(
      `  - { id: hi-${i}, type: threshold, point: ${benchPointId(d, p)}, hi: ${BENCH_LIMIT}, priority: 4, department: technical, category: bench-high, message: Bench value high }`,
    );
  }
  lines.push('roster:', '  people: [{ username: tech, name: Bench Technician, department: technical, skills: [pump] }]');
  return parseSite(lines.join('\n') + '\n', 'bench-site.yaml');
}
