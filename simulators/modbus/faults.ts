/** The faults a device model can have, their params, and which are active: one table per model. */
import { SimError } from '../errors.ts';
import type { FaultParams } from '../device.ts';

export interface FaultParamSpec {
  /** Accepted range, (min, max]: a fault param is a positive amount (severity, hours, a rate). */
  min: number;
  max: number;
  default: number;
  description: string;
}

export interface FaultDefinition {
  name: string;
  /** What changes on the wire, for README.md and the catalog. */
  description: string;
  params?: Record<string, FaultParamSpec>;
}

export interface ActiveFault {
  params: Record<string, number>;
  /** Simulated time of the injection, ms (for faults that develop over time). */
  since: number;
}

export class FaultBook {
  private readonly active = new Map<string, ActiveFault>();
  private readonly defs: Map<string, FaultDefinition>;

  constructor(
    readonly model: string,
    definitions: readonly FaultDefinition[],
  ) {
    this.defs = new Map(definitions.map((d) => [d.name, d]));
  }

  list(): Array<{ name: string; description: string; active: boolean }> {
    return [...this.defs.values()].map((d) => ({ name: d.name, description: d.description, active: this.active.has(d.name) }));
  }

  has(name: string): boolean {
    return this.active.has(name);
  }

  get(name: string): ActiveFault | undefined {
    return this.active.get(name);
  }

  /** A param of an active fault (its default when not given), or 0 when the fault is not active. */
  param(name: string, key: string): number {
    return this.active.get(name)?.params[key] ?? 0;
  }

  /** Validates and activates; injecting an active fault again replaces its params and keeps its start. */
  inject(name: string, params: FaultParams = {}, now: number): ActiveFault {
    const def = this.definition(name);
    const out: Record<string, number> = {};
    for (const [key, spec] of Object.entries(def.params ?? {})) out[key] = spec.default;
    for (const [key, value] of Object.entries(params)) {
      const spec = def.params?.[key];
      if (!spec) throw new SimError('invalid', `fault '${name}' takes no param '${key}'${def.params ? ` (known: ${Object.keys(def.params).join(', ')})` : ''}`);
      if (typeof value !== 'number' || !(value > spec.min && value <= spec.max))
        throw new SimError('invalid', `params.${key} must be a number in (${spec.min}, ${spec.max}], got ${JSON.stringify(value)}`);
      out[key] = value;
    }
    const fault = { params: out, since: this.active.get(name)?.since ?? now };
    this.active.set(name, fault);
    return fault;
  }

  clear(name: string): void {
    this.definition(name);
    this.active.delete(name);
  }

  /** Markdown rows: | fault | effect | params | */
  markdown(): string {
    return [
      '| fault | effect | params |',
      '| --- | --- | --- |',
      ...[...this.defs.values()].map((d) => {
        const params = Object.entries(d.params ?? {})
          .map(([k, p]) => `\`${k}\` (${p.min} < x ≤ ${p.max}, default ${p.default}): ${p.description}`)
          .join('; ');
        return `| \`${d.name}\` | ${d.description} | ${params || '—'} |`;
      }),
    ].join('\n');
  }

  private definition(name: string): FaultDefinition {
    const def = this.defs.get(name);
    if (!def) throw new SimError('not-found', `${this.model} has no fault '${name}' (known: ${[...this.defs.keys()].join(', ')})`);
    return def;
  }
}

/** Every Modbus model has it: the device stops answering (connections stay open), for comm-loss tests. */
export const NO_RESPONSE: FaultDefinition = {
  name: 'no-response',
  description: 'The controller stops answering Modbus requests (connections stay open): for testing comm-loss.',
};
