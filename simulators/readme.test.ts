import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { README_FILE, renderModelReference, updateReadme, BEGIN_MARKER, END_MARKER } from './readme.ts';
import { SIMULATOR_MODELS } from './models.ts';

describe('simulators/README.md', () => {
  it('has the model reference of every registered model, as the code renders it (else: npx tsx simulators/readme.ts)', () => {
    const readme = readFileSync(README_FILE, 'utf8');
    const fresh = updateReadme(readme);
    // A plain equality keeps the diff readable when it fails.
    expect(readme, 'simulators/README.md is out of date: run `npx tsx simulators/readme.ts`').toBe(fresh);
    for (const name of SIMULATOR_MODELS.keys()) expect(readme).toContain(`#### \`${name}\``);
  });

  it('replaces only what lies between the markers', () => {
    const text = `intro\n${BEGIN_MARKER}\nold\n${END_MARKER}\noutro\n`;
    const out = updateReadme(text, 'NEW');
    expect(out).toBe(`intro\n${BEGIN_MARKER}\n\nNEW\n\n${END_MARKER}\noutro\n`);
    expect(updateReadme(out, 'NEW')).toBe(out);
    expect(() => updateReadme('no markers')).toThrow(/markers/);
  });

  it('renders every Modbus model with its register map and faults', () => {
    const text = renderModelReference();
    for (const m of ['booster-pump', 'sump-pump', 'fire-pump', 'lift-controller']) expect(text).toMatch(new RegExp(`#### \`${m}\`[\\s\\S]*?\\| table \\| address \\|[\\s\\S]*?\\| fault \\| effect \\| params \\|`));
  });
});
