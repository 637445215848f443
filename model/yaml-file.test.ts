/**
 * YAML files: the plain reader reads what the `yaml` package reads, to the same value, with the same
 * lines and columns, and the schema's defaults come out as TypeBox's Value.Default makes them.
 */
import { describe, expect, it, vi } from 'vitest';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { Type, type TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { DEMO_SITE_FILE, FileProblemsError, parseSite, parseYamlFile, SiteFileSchema, type FileProblem, type YamlFileOptions, type YamlPath } from './index.ts';

// Which reader read a file: the plain one unless `yaml`'s parseDocument was called. And the value
// the schema errors were worked out from (the file's value with the defaults applied).
const seen = vi.hoisted(() => ({ parseDocument: 0, errorsOf: [] as Array<{ schema: unknown; value: unknown }> }));
vi.mock('yaml', async (importOriginal) => {
  const yaml = await importOriginal<typeof import('yaml')>();
  return {
    ...yaml,
    parseDocument: (...args: Parameters<typeof yaml.parseDocument>) => {
      seen.parseDocument++;
      return yaml.parseDocument(...args);
    },
  };
});
vi.mock('@sinclair/typebox/value', async (importOriginal) => {
  const typebox = await importOriginal<typeof import('@sinclair/typebox/value')>();
  const Errors: typeof typebox.Value.Errors = (...args: unknown[]) => {
    seen.errorsOf.push({ schema: args[0], value: structuredClone(args[args.length - 1]) });
    return (typebox.Value.Errors as (...a: unknown[]) => ReturnType<typeof typebox.Value.Errors>)(...args);
  };
  return { ...typebox, Value: { ...typebox.Value, Errors } };
});

const OPTS: YamlFileOptions = { kind: 'test', mapping: 'a test file is a mapping', fail: (problems) => new FileProblemsError(problems) };

/** A comment with a tab, which the plain reader leaves to `yaml`: same document, read the other way. */
const viaYaml = (text: string) => `${text}\n#\t\n`;

type Read = { value: unknown; problem: (path: YamlPath, message: string) => FileProblem; plain: boolean } | { problems: FileProblem[]; plain: boolean };

function read(text: string, schema: TSchema = Type.Any()): Read {
  const before = seen.parseDocument;
  try {
    const { value, problem } = parseYamlFile(text, 'f.yaml', schema, OPTS);
    return { value, problem, plain: seen.parseDocument === before };
  } catch (err) {
    // Not only problems: `yaml` throws a ReferenceError for an alias without its anchor.
    const problems = err instanceof FileProblemsError ? err.problems : [{ file: 'f.yaml', line: 0, column: 0, field: '(thrown)', message: String(err) }];
    return { problems, plain: seen.parseDocument === before };
  }
}

/** Values with their keys in order, to compare key order too. */
function ordered(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(ordered);
  if (value !== null && typeof value === 'object') return { entries: Object.entries(value).map(([k, v]) => [k, ordered(v)]) };
  return value;
}

/** Paths to every value, and paths that miss: a missing key, an index past the end, through a scalar. */
function pathsOf(value: unknown, path: YamlPath = []): YamlPath[] {
  const out: YamlPath[] = [path, [...path, 'no-such-key'], [...path, 9999]];
  if (Array.isArray(value)) value.forEach((v, i) => out.push(...pathsOf(v, [...path, i]), [...path, String(i)]));
  else if (value !== null && typeof value === 'object')
    for (const [k, v] of Object.entries(value)) out.push(...pathsOf(v, [...path, /^\d+$/.test(k) ? Number(k) : k]), [...path, k]);
  return out;
}

/**
 * Reads `text` both ways and, where the plain reader read it, expects the same value, lines and
 * columns, or the same problems. (What it leaves to `yaml` is read as before, by construction.)
 */
function expectSameBothWays(text: string, schema?: TSchema): Read {
  const plain = read(text, schema);
  if (!plain.plain) return plain;
  const full = read(viaYaml(text), schema);
  expect(full.plain).toBe(false);
  expect('problems' in plain ? plain.problems : 'a value').toEqual('problems' in full ? full.problems : 'a value');
  if ('value' in plain && 'value' in full) {
    expect(ordered(plain.value)).toEqual(ordered(full.value));
    for (const path of pathsOf(full.value)) expect(plain.problem(path, 'm'), JSON.stringify(path)).toEqual(full.problem(path, 'm'));
  }
  return plain;
}

// ── random documents ─────────────────────────────────────────────────────────────────────────

// Scalars and keys the plain reader reads, and (TRICKY_*) ones it may well leave to `yaml`.
const SCALARS = [
  'a', 'abc def', 'Basement 2 (pump rooms, parking)', '0', '12', '-3', '+4', '007', '1.5', '1.0', '0.10', '.5', '1.', '1e3', '-1.2E-3', '0x1F', '0o17', '0b1',
  '1_000', '-0', '~', 'null', 'Null', 'NULL', 'nULL', 'true', 'False', 'TRUE', 'tRUE', 'yes', 'on', '.inf', '-.Inf', '+.INF', '.NaN', '.nan', 'a:b', 'x "y"',
  'a#b', 'http://x/y?q=1', "it's", '-x', '-2.5', 'a,b', 'a]', 'a}', 'é°C m³/h', '12:30', 'a\\b', '<<', '__proto__', '/type', '+', 'door/+/state', 'a  b',
];
const TRICKY_SCALARS = [
  'a: b', 'x:', 'a #b', '-', '- x', '?x', ':x', '[a]', '{a}', '@x', '`x', '%x', '!x', '&x', '*x', '|', '>', '#x', '', ' ', 'x ', ' x', '--- x', '---', '...',
  'a\tb', 'a\\"b', 'a\nb',
];
const KEYS = ['id', 'a', 'b', 'name', 'points', '0', '1', '48', 'a b', 'a:b', 'x#y', 'constructor', 'toString', 'é', 'diskerror:active', 'null_', 'true1'];
const TRICKY_KEYS = ['007', '-1', '1.5', 'true', 'null', '~', 'a,b', '<<', '__proto__', 'x #y', 'a: b', '', ' a', 'a ', '-a', '[a]', '...', '---', '?a', '%a'];

function randomYaml(seed: number): string {
  let s = seed >>> 0 || 1;
  const rand = () => ((s = (Math.imul(s ^ (s >>> 15), 1 | s) + 0x6d2b79f5) >>> 0), s / 2 ** 32);
  const pick = <T,>(items: readonly T[]): T => items[Math.floor(rand() * items.length)]!;
  const chance = (p: number) => rand() < p;
  // Half the documents hold nothing meant to be left to `yaml`.
  const clean = chance(0.5);
  const odd = (p: number) => !clean && chance(p);
  const nl = chance(0.1) ? '\r\n' : '\n';
  const lines: string[] = [];
  const pad = (n: number) => ' '.repeat(n);
  const comment = () => (chance(0.1) ? `${odd(0.2) ? '' : ' '}# ${pick(SCALARS)}` : '');
  const trail = () => (chance(0.05) ? '  ' : '');
  const filler = (indent: number) => {
    if (chance(0.08)) lines.push('');
    if (chance(0.08)) lines.push(`${pad(Math.max(0, indent + Math.floor(rand() * 5) - 2))}# note`);
  };

  const scalar = (inFlow: boolean): string => {
    const text = pick(odd(0.05) ? TRICKY_SCALARS : SCALARS);
    const style = rand();
    if (style < 0.6) return text;
    if (style < 0.8) return `'${text.replace(/'/g, "''")}'`;
    return JSON.stringify(text).replace(/\\u00e9|é/g, () => pick(clean ? ['é', '\\u00e9'] : ['é', '\\u00e9', '\\xe9'])) + (inFlow || !odd(0.05) ? '' : ' x');
  };
  const key = (): string => {
    const k = pick(odd(0.05) ? TRICKY_KEYS : KEYS);
    const style = rand();
    return style < 0.75 ? k : style < 0.9 ? `'${k.replace(/'/g, "''")}'` : JSON.stringify(k);
  };
  const sep = () => pick([', ', ',', ' , ', ',  ']);
  const colon = () => (odd(0.2) ? pick([':', ' : ']) : pick([': ', ':  ']));
  const flow = (depth: number): string => {
    const n = Math.floor(rand() * 4);
    const items = Array.from({ length: n }, () => (depth < 2 && chance(0.3) ? flow(depth + 1) : scalar(true)));
    const [open, close] = chance(0.5) ? pick([['[', ']'], ['[ ', ' ]']]) : pick([['{', '}'], ['{ ', ' }']]);
    const entries = open.startsWith('[') ? items : items.map((v) => `${key()}${colon()}${v}`);
    return `${open}${entries.join(sep())}${odd(0.05) ? ',' : ''}${close}`;
  };
  const inline = (): string => (chance(0.3) ? flow(0) : scalar(false));

  /** A block node at `indent`; `first` is the text already on its first line (`- `), if any. */
  const block = (indent: number, depth: number, first = ''): void => {
    const seq = chance(0.4);
    const n = 1 + Math.floor(rand() * 3);
    for (let i = 0; i < n; i++) {
      const lead = i === 0 && first ? first : pad(indent);
      if (i > 0) filler(indent);
      if (seq) {
        const gap = odd(0.2) ? '-' : pick(['- ', '-  ']);
        if (depth < 3 && chance(0.35)) block(indent + gap.length, depth + 1, lead + gap);
        else if (depth < 3 && odd(0.1)) {
          lines.push(lead + '-' + comment());
          block(indent + 2, depth + 1);
        } else lines.push(`${lead}${gap}${inline()}${comment()}${trail()}`);
      } else {
        const k = key();
        if (odd(0.05)) lines.push(`${lead}${k}:${comment()}`); // no value: null
        else if (depth < 3 && chance(0.35)) {
          lines.push(`${lead}${k}:${trail()}${comment()}`);
          filler(indent);
          const deeper = pick([indent + 2, indent + 2, indent + 4, indent, indent + 1]);
          if (deeper === indent) {
            const items = 1 + Math.floor(rand() * 2);
            for (let j = 0; j < items; j++) lines.push(`${pad(indent)}- ${inline()}`);
          } else block(deeper, depth + 1);
        } else {
          lines.push(`${lead}${k}${colon()}${inline()}${comment()}${trail()}`);
          if (odd(0.03)) lines.push(`${pad(indent + 2)}continued`);
        }
      }
    }
  };

  if (odd(0.05)) lines.push(pick(['---', '%YAML 1.2\n---', '# head']));
  block(chance(0.9) ? 0 : 2, 0);
  // Now and then something only `yaml` reads: an anchor and alias, a tag, a block scalar, a tab.
  if (odd(0.1)) lines.push(pick(['z: &x 1\ny: *x', 'z: !!str 5', 'z: |\n  text\n  more', 'z: >-\n  folded\n  text', 'z:\t1', 'z: "two\n  lines"', 'z: [a,\n  b]']));
  return lines.join(nl) + (chance(0.8) ? nl : '');
}

describe('the plain reader', () => {
  it('reads random documents as yaml does: the same value, lines and columns, or the same problems', () => {
    let plain = 0;
    let runs = 0;
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2 ** 31 - 1 }), (seed) => {
        const text = randomYaml(seed);
        runs++;
        if (expectSameBothWays(text).plain) plain++;
      }),
      { numRuns: 3000 },
    );
    // Enough of them are plain for the comparison to mean something.
    expect(plain / runs).toBeGreaterThan(0.2);
  });

  it.each([
    ['an anchor and alias', 'a: &x { b: 1 }\nc: *x\n'],
    ['a block scalar', 'a: |\n  one\n  two\n'],
    ['a tab', 'a:\t1\n'],
    ['a multi-line flow collection', 'a: [1,\n  2]\n'],
    ['a duplicate key', 'a: 1\nb: 2\na: 3\n'],
    ['a syntax error', 'a: [1, 2\nb: 3\n'],
    ['a key without a value', 'a:\nb: 1\n'],
    ['a boolean key', 'true: 1\n'],
  ])('leaves %s to yaml', (_, text) => {
    expect(read(text).plain).toBe(false);
  });

  it('keeps yaml’s words for a duplicate key, with its line', () => {
    const result = read('a: 1\nb: 2\na: 3\n');
    expect(result).toMatchObject({ problems: [{ line: 3, column: 1, field: '(yaml)', message: expect.stringContaining('unique') }] });
  });
});

// ── site files ───────────────────────────────────────────────────────────────────────────────

/** A site of `devices` Modbus devices of `points` points each: the shape of `vigil bench`'s site. */
function benchSite(devices: number, points: number): string {
  const lines = ['site: { id: bench, name: Gateway bench, timezone: UTC }', 'buildings: [{ id: lab, name: Lab, floors: [{ id: f1, name: F1, level: 0 }] }]', 'assets:'];
  for (let d = 0; d < devices; d++) lines.push(`  - { id: bench-${d}, name: Bench ${d}, class: pump, building: lab, floor: f1, department: technical }`);
  lines.push('devices:');
  for (let d = 0; d < devices; d++) {
    lines.push(`  - id: dev-${d}`, '    protocol: modbus-tcp', '    host: 127.0.0.1', `    port: ${20000 + d}`, '    unit: 1', '    pollIntervalMs: 1000', '    timeoutMs: 3000', '    points:');
    for (let p = 0; p < points; p++) lines.push(`      - { id: bench-${d}.p${p}, modbus: { table: holding, address: ${p} }, deadband: 0 }`);
  }
  lines.push('roster:', '  people: [{ username: tech, name: Tech, department: technical, skills: [pump] }]', '');
  return lines.join('\n');
}

function siteProblems(text: string): FileProblem[] {
  try {
    parseSite(text, 'site.yaml');
  } catch (err) {
    if (err instanceof FileProblemsError) return err.problems;
    throw err;
  }
  throw new Error('the site file was accepted');
}

/** Line and column (1-based) of the first `needle` in `text`, plus `offset` characters. */
function positionOf(text: string, needle: string, offset = 0): { line: number; column: number } {
  const at = text.indexOf(needle) + offset;
  const before = text.slice(0, at).split('\n');
  return { line: before.length, column: before.at(-1)!.length + 1 };
}

/** The file's value with the defaults applied, as Value.Default makes it, for the schema errors. */
function valueDefaultOf(text: string, schema: TSchema): unknown {
  const raw = read(text);
  if (!('value' in raw)) throw new Error('not readable');
  return Value.Default(schema, raw.value);
}

describe('site files', () => {
  const demo = readFileSync(DEMO_SITE_FILE, 'utf8');
  const bench = benchSite(12, 250);

  it('reads the demo and a bench site plainly, to the value yaml and Value.Default give', () => {
    for (const text of [demo, bench]) {
      const before = seen.parseDocument;
      const site = parseSite(text, 'site.yaml');
      expect(seen.parseDocument).toBe(before);
      expect(ordered(site)).toEqual(ordered(parseSite(viaYaml(text), 'site.yaml')));
      expect(ordered(site)).toEqual(ordered(valueDefaultOf(text, SiteFileSchema)));
    }
  });

  // Each breaks the demo or the bench site: the problems are the same both ways, and the value the
  // schema errors are worked out from is Value.Default's (defaults inside a device whose point is
  // wrong are not applied, as TypeBox does for a union no branch of which matches).
  const broken: Array<[string, 'bench' | 'demo', string, string]> = [
    ['a negative point address', 'bench', 'bench-9.p211, modbus: { table: holding, address: 211 }', 'bench-9.p211, modbus: { table: holding, address: -211 }'],
    ['an unknown register table', 'bench', 'bench-10.p7, modbus: { table: holding,', 'bench-10.p7, modbus: { table: holdin,'],
    ['a misspelt point field', 'bench', 'bench-11.p249, modbus: { table: holding, address: 249 }, deadband: 0', 'bench-11.p249, modbus: { table: holding, address: 249 }, deadbnd: 0'],
    ['a missing port', 'bench', '    port: 20007\n', ''],
    ['an unknown protocol', 'bench', '  - id: dev-4\n    protocol: modbus-tcp', '  - id: dev-4\n    protocol: knx'],
    ['a negative detector delay', 'demo', 'onDelayMs: 2000', 'onDelayMs: -5'],
    ['an unknown detector type', 'demo', 'type: deviation', 'type: deviatio'],
    ['a floor level that is not a number', 'demo', 'level: -2', 'level: minus two'],
    ['wrong alarming settings', 'demo', '\ndevices:', '\nalarming: { floodCount: 1, nope: 2 }\ndevices:'],
  ];
  it.each(broken)('reports %s with the same problems both ways', (_, base, from, to) => {
    const original = base === 'bench' ? bench : demo;
    expect(original).toContain(from);
    const text = original.replace(from, to);
    seen.errorsOf = [];
    const before = seen.parseDocument;
    const plain = siteProblems(text);
    expect(seen.parseDocument).toBe(before);
    expect(seen.errorsOf[0]!.schema).toBe(SiteFileSchema);
    expect(ordered(seen.errorsOf[0]!.value)).toEqual(ordered(valueDefaultOf(text, SiteFileSchema)));
    expect(plain.length).toBeGreaterThan(0);
    expect(plain).toEqual(siteProblems(viaYaml(text)));
  });

  it('names the line and column of a wrong point deep in a large site', () => {
    const text = bench.replace('bench-9.p211, modbus: { table: holding, address: 211 }', 'bench-9.p211, modbus: { table: holding, address: -211 }');
    const [p] = siteProblems(text);
    expect(p).toEqual({ file: 'site.yaml', ...positionOf(text, 'address: -211', 'address: '.length), field: 'devices[9].points[211].modbus.address', message: expect.stringMatching(/greater or equal to 0/) });
    expect(p!.line).toBeGreaterThan(2000);
  });

  it('names the line and column of a cross-reference problem deep in a large site, both ways', () => {
    const text = bench.replace('{ id: bench-8.p200,', '{ id: bench-8.p199,');
    const problems = siteProblems(text);
    expect(problems).toEqual([
      { file: 'site.yaml', ...positionOf(text, 'bench-8.p199, modbus: { table: holding, address: 200 }'), field: 'devices[8].points[200].id', message: "duplicate point id 'bench-8.p199' (first at devices[8].points[199].id)" },
    ]);
    expect(problems).toEqual(siteProblems(viaYaml(text)));
  });
});

describe('schemas other than the site’s', () => {
  // Value.Default is kept for schemas whose defaults the quicker walk cannot promise to give alike.
  const Undiscriminated = Type.Object({ u: Type.Array(Type.Union([Type.Object({ a: Type.Number({ default: 1 }) }), Type.Object({ b: Type.String({ default: 'x' }) })])) });
  const Discriminated = Type.Object({
    u: Type.Array(Type.Union([Type.Object({ kind: Type.Literal('a'), n: Type.Number({ default: 1 }) }), Type.Object({ kind: Type.Literal('b'), s: Type.String({ default: 'x' }), t: Type.Array(Type.String(), { default: [] }) })])),
    m: Type.Record(Type.String(), Type.Object({ v: Type.Integer({ default: 2 }) }, { default: {} }), { default: { one: {} } }),
    o: Type.Object({ p: Type.Optional(Type.Number()), q: Type.Boolean({ default: false }) }, { default: { q: true } }),
    // TypeBox leaves the values of a record alone unless their schema has a default itself.
    r: Type.Optional(Type.Record(Type.String(), Type.Object({ w: Type.Number({ default: 3 }) }))),
  });

  it.each([
    ['u: [{ kind: a }, { kind: b }, { a: 2 }, { b: y }, {}]\nm: { x: {}, y: { v: 3 } }\n'],
    ['u: [{ kind: b, s: 1 }, { kind: c }, 7]\nm: []\no: [1]\n'],
    ['u: []\no: { p: 1 }\nr: { k: {}, l: { w: 1 } }\n'],
    ['u: [{ kind: a, n: x }]\nm: { x: 5 }\no: null\n'],
  ])('applies the defaults as Value.Default: %s', (text) => {
    for (const schema of [Undiscriminated, Discriminated]) {
      seen.errorsOf = [];
      const result = read(text, schema);
      const applied = 'value' in result ? result.value : seen.errorsOf[0]!.value;
      expect(ordered(applied)).toEqual(ordered(valueDefaultOf(text, schema)));
    }
  });
});
