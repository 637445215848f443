/**
 * Renders the model reference of simulators/README.md from every registered model's `reference()`
 * (Modbus, BACnet and MQTT alike), between the markers below, so the maps there cannot drift from
 * the code. Regenerate: `npx tsx simulators/readme.ts`; check only: `npx tsx simulators/readme.ts --check`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { SimulatorModel } from './device.ts';
import { SIMULATOR_MODELS } from './models.ts';

export const README_FILE = fileURLToPath(new URL('./README.md', import.meta.url));
export const BEGIN_MARKER = '<!-- BEGIN GENERATED: model reference (npx tsx simulators/readme.ts) -->';
export const END_MARKER = '<!-- END GENERATED: model reference -->';
const PROTOCOLS = ['modbus-tcp', 'bacnet-ip', 'mqtt'] as const;
const PROTOCOL_TITLES: Record<string, string> = { 'modbus-tcp': 'Modbus TCP', 'bacnet-ip': 'BACnet/IP', mqtt: 'MQTT vendor bridges' };

/** The generated section (without the markers). */
export function renderModelReference(models: Iterable<SimulatorModel> = SIMULATOR_MODELS.values()): string {
  const all = [...models];
  const out: string[] = [];
  for (const protocol of PROTOCOLS) {
    const of = all.filter((m) => m.protocol === protocol).sort((a, b) => a.name.localeCompare(b.name));
    if (of.length === 0) continue;
    out.push(`### ${PROTOCOL_TITLES[protocol]}`, '');
    for (const m of of) out.push(`#### \`${m.name}\``, '', `${m.description}.`, '', m.reference().trim() || '_No reference yet._', '');
  }
  return out.join('\n').trim();
}

/** `readme` with its generated section replaced; throws when a marker is missing. */
export function updateReadme(readme: string, section = renderModelReference()): string {
  const begin = readme.indexOf(BEGIN_MARKER);
  const end = readme.indexOf(END_MARKER);
  if (begin < 0 || end < begin) throw new Error(`README.md lacks the markers ${BEGIN_MARKER} … ${END_MARKER}`);
  return `${readme.slice(0, begin + BEGIN_MARKER.length)}\n\n${section}\n\n${readme.slice(end)}`;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const current = readFileSync(README_FILE, 'utf8');
  const next = updateReadme(current);
  if (process.argv.includes('--check')) {
    if (next !== current) {
      console.error('simulators/README.md is out of date: run `npx tsx simulators/readme.ts`');
      process.exit(1);
    }
  } else if (next !== current) {
    writeFileSync(README_FILE, next);
    console.error('simulators/README.md: model reference regenerated');
  }
}
