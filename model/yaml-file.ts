/**
 * YAML files validated against a TypeBox schema, with problems that name the file, line, column and
 * field: the site file and the simulators' scenario files read this way.
 */
import { readFileSync } from 'node:fs';
import { LineCounter, parseDocument, isNode, type Document } from 'yaml';
import type { Static, TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { ID_PATTERN, POINT_ID_PATTERN } from './ids.ts';

export type YamlPath = Array<string | number>;

export interface FileProblem {
  file: string;
  line: number;
  column: number;
  /** Dotted path of the field, e.g. `devices[0].port`. */
  field: string;
  message: string;
}

/** Every problem of a file, one per line of the message: `file:line:column: field: message`. */
export class FileProblemsError extends Error {
  constructor(readonly problems: FileProblem[]) {
    super(problems.map((p) => `${p.file}:${p.line}:${p.column}: ${p.field}: ${p.message}`).join('\n'));
  }
}

export interface YamlFileOptions {
  /** What the file is, for messages: `site`, `scenario`. */
  kind: string;
  /** Said when the document is not a mapping, e.g. 'a site file is a YAML mapping with site, buildings …'. */
  mapping: string;
  /** Plain words for string patterns of this schema (the id patterns are known already). */
  patterns?: Record<string, string>;
  /** Builds the error to throw (SiteError, ScenarioError …). */
  fail: (problems: FileProblem[]) => FileProblemsError;
}

export interface ParsedYaml<T> {
  /** The document, checked against the schema, with the schema's defaults applied. */
  value: T;
  /** A problem located at a path of this document, for the checks a schema cannot express. */
  problem(path: YamlPath, message: string): FileProblem;
}

const ID_WORDS: Record<string, string> = {
  [ID_PATTERN]: "must be lower-case letters, digits, '-' or '_', starting with a letter or digit",
  [POINT_ID_PATTERN]: "must be '<asset>.<point>', each part lower-case letters, digits, '-' or '_'",
};

/** At most this many problems are reported at once: the first ones are what to fix. */
const MAX_PROBLEMS = 20;

export function fieldName(path: YamlPath): string {
  return path.reduce<string>((out, key) => (typeof key === 'number' ? `${out}[${key}]` : out ? `${out}.${key}` : key), '') || '(root)';
}

function pointerToPath(pointer: string): YamlPath {
  if (!pointer) return [];
  return pointer
    .split('/')
    .slice(1)
    .map((k) => k.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((k) => (/^\d+$/.test(k) ? Number(k) : k));
}

function locate(doc: Document, counter: LineCounter, path: YamlPath): { line: number; column: number } {
  // A missing field has no node: point at the nearest parent that exists.
  for (let depth = path.length; depth >= 0; depth--) {
    const node = doc.getIn(path.slice(0, depth), true);
    if (isNode(node) && node.range) {
      const { line, col } = counter.linePos(node.range[0]);
      return { line, column: col };
    }
  }
  return { line: 1, column: 1 };
}

/** Problems in reading order. */
export function byLine(problems: FileProblem[]): FileProblem[] {
  return [...problems].sort((a, b) => a.line - b.line || a.column - b.column);
}

/**
 * Schema errors with their JSON-pointer paths. A union (a device: Modbus, BACnet or MQTT) is checked
 * against the branch its discriminating literal (e.g. `protocol`) names, so the error points at the
 * field that is wrong instead of saying "no branch matched".
 */
function schemaErrors(schema: TSchema, value: unknown, base: string, opts: YamlFileOptions): Array<{ path: string; message: string }> {
  const out: Array<{ path: string; message: string }> = [];
  const seen = new Set<string>();
  for (const err of Value.Errors(schema, value)) {
    if (seen.has(err.path)) continue;
    seen.add(err.path);
    const branches = (err.schema as { anyOf?: TSchema[] }).anyOf;
    if (branches && err.value && typeof err.value === 'object' && !Array.isArray(err.value)) {
      out.push(...unionErrors(branches, err.value as Record<string, unknown>, base + err.path, opts));
      continue;
    }
    const pattern = (err.schema as { pattern?: string }).pattern;
    const message = err.message.toLowerCase();
    const plain = message === 'expected required property' ? 'is required' : message === 'unexpected property' ? `is not a ${opts.kind} field (a typo?)` : message;
    out.push({ path: base + err.path, message: (pattern && (opts.patterns?.[pattern] ?? ID_WORDS[pattern])) || plain });
  }
  return out;
}

function unionErrors(branches: TSchema[], value: Record<string, unknown>, path: string, opts: YamlFileOptions): Array<{ path: string; message: string }> {
  type Literal = [key: string, constant: unknown];
  const literals = (b: TSchema): Literal[] =>
    Object.entries((b as { properties?: Record<string, { const?: unknown }> }).properties ?? {})
      .filter(([, p]) => 'const' in p)
      .map(([k, p]) => [k, p.const]);
  const chosen = branches.find((b) => {
    const l = literals(b);
    return l.length > 0 && l.every(([k, c]) => value[k] === c);
  });
  if (chosen) return schemaErrors(chosen, Value.Default(chosen, value), path, opts);
  const keys = [...new Set(branches.flatMap((b) => literals(b).map(([k]) => k)))];
  const allowed = keys.map((k) => `${k}: ${branches.flatMap((b) => literals(b).filter(([kk]) => kk === k).map(([, c]) => String(c))).join(' | ')}`);
  return [{ path: keys.length === 1 ? `${path}/${keys[0]}` : path, message: `must be one of ${allowed.join('; ')}` }];
}

/** Parses YAML text and checks it against a schema; throws `opts.fail(problems)` on any problem. */
export function parseYamlFile<S extends TSchema>(text: string, file: string, schema: S, opts: YamlFileOptions): ParsedYaml<Static<S>> {
  const counter = new LineCounter();
  const doc = parseDocument(text, { lineCounter: counter, uniqueKeys: true });
  const problem = (path: YamlPath, message: string): FileProblem => ({ file, ...locate(doc, counter, path), field: fieldName(path), message });
  if (doc.errors.length > 0) {
    throw opts.fail(doc.errors.map((e) => ({ file, line: e.linePos?.[0]?.line ?? 1, column: e.linePos?.[0]?.col ?? 1, field: '(yaml)', message: e.message.split('\n')[0]! })));
  }
  const raw: unknown = doc.toJS();
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw opts.fail([problem([], opts.mapping)]);
  const value = Value.Default(schema, structuredClone(raw));
  const problems = schemaErrors(schema, value, '', opts).map((e) => problem(pointerToPath(e.path), e.message));
  if (problems.length > 0) throw opts.fail(byLine(problems).slice(0, MAX_PROBLEMS));
  return { value: value as Static<S>, problem };
}

/** A file's text, or `opts.fail` with a problem that says why it cannot be read. */
export function readYamlText(path: string, opts: Pick<YamlFileOptions, 'kind' | 'fail'>): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw opts.fail([{ file: path, line: 1, column: 1, field: '(file)', message: `cannot read the ${opts.kind} file: ${(err as Error).message}` }]);
  }
}
