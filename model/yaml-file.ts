/**
 * YAML files validated against a TypeBox schema, with problems that name the file, line, column and
 * field: the site file and the simulators' scenario files read this way.
 */
import { readFileSync } from 'node:fs';
import { LineCounter, parseDocument, isNode, type Document } from 'yaml';
import { Kind, type Static, type TSchema } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
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

/**
 * Parses YAML text and checks it against a schema; throws `opts.fail(problems)` on any problem.
 *
 * Most files are read by a small reader of the plain subset of YAML (block and one-line flow
 * collections, plain and one-line quoted scalars, comments) and checked with a compiled checker;
 * the `yaml` package reads anything else, and the slow, interpreted TypeBox error walk runs only
 * for a file that fails the check. Both ways give the same value and the same problems.
 */
export function parseYamlFile<S extends TSchema>(text: string, file: string, schema: S, opts: YamlFileOptions): ParsedYaml<Static<S>> {
  const source = readPlainYaml(text) ?? readYamlDocument(text, file, opts);
  const problem = (path: YamlPath, message: string): FileProblem => ({ file, ...source.locate(path), field: fieldName(path), message });
  const raw = source.value;
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw opts.fail([problem([], opts.mapping)]);
  const plan = planOf(schema);
  const value = plan.defaults(raw);
  if (!plan.check(value)) {
    const problems = schemaErrors(schema, value, '', opts).map((e) => problem(pointerToPath(e.path), e.message));
    if (problems.length > 0) throw opts.fail(byLine(problems).slice(0, MAX_PROBLEMS));
  }
  return { value: value as Static<S>, problem };
}

/** A YAML document as plain JS data (what `yaml`'s `toJS()` gives), and where each value of it starts. */
interface YamlSource {
  value: unknown;
  /** Line and column of the value at `path`, or of its nearest parent that exists. */
  locate(path: YamlPath): { line: number; column: number };
}

/** Any YAML, by the `yaml` package: its syntax errors become problems. */
function readYamlDocument(text: string, file: string, opts: YamlFileOptions): YamlSource {
  const counter = new LineCounter();
  const doc = parseDocument(text, { lineCounter: counter, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw opts.fail(doc.errors.map((e) => ({ file, line: e.linePos?.[0]?.line ?? 1, column: e.linePos?.[0]?.col ?? 1, field: '(yaml)', message: e.message.split('\n')[0]! })));
  }
  return { value: doc.toJS(), locate: (path) => locate(doc, counter, path) };
}

// ── the plain reader ─────────────────────────────────────────────────────────────────────────
//
// `yaml` lexes, builds a concrete syntax tree, then a node tree with ranges and comments, then JS
// data: about 100 µs a line, 10 s and 800 MB of heap for a site of 100,000 points. The plain reader
// reads the YAML site files are written in straight to JS data, a few µs a line. It gives up
// (NOT_PLAIN) on anything else: anchors, tags, block scalars, multi-line scalars and flow
// collections, directives, tabs, explicit, duplicate or non-string keys, empty values, and whatever
// `yaml` would report as an error, so that what it reads, it reads exactly as `yaml` does
// (yaml-file.test.ts compares the two on random documents). Where each value starts is recorded only
// when a problem must be located: a second read, with `spans`.

/** Thrown by the plain reader where the text leaves the plain subset. */
const NOT_PLAIN = new (class NotPlainYaml {})();
function notPlain(): never {
  throw NOT_PLAIN;
}

/** Characters the plain reader leaves to `yaml`: tabs, control characters, a BOM, a lone CR … */
const UNPLAIN_CHARS = /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\t\ufeff\u2028\u2029]|\r(?!\n)/;

const SPACE = 0x20, HASH = 0x23, COLON = 0x3a, DASH = 0x2d, COMMA = 0x2c, CR = 0x0d;
const QUOTE = 0x27, DQUOTE = 0x22, BACKSLASH = 0x5c, LBRACKET = 0x5b, RBRACKET = 0x5d, LBRACE = 0x7b, RBRACE = 0x7d;
const isFlowIndicator = (c: number) => c === COMMA || c === LBRACKET || c === RBRACKET || c === LBRACE || c === RBRACE;
/** A plain scalar cannot start with these (`-` only when a space follows: the plain reader leaves `?` and `:` to `yaml`). */
const PLAIN_START_FORBIDDEN = new Set([...'-?:,[]{}#&*!|>\'"%@`'].map((c) => c.charCodeAt(0)));
/** Escapes of double-quoted scalars the plain reader knows; any other goes to `yaml`. */
const ESCAPES = new Map([['\\', '\\'], ['"', '"'], ['/', '/'], ['n', '\n'], ['t', '\t'], ['r', '\r'], ['0', '\0'], [' ', ' ']]);

// The YAML 1.2 core schema, as `yaml` resolves plain scalars (yaml/dist/schema/core).
const CORE_NULL = /^(?:~|[Nn]ull|NULL)?$/;
const CORE_BOOL = /^(?:[Tt]rue|TRUE|[Ff]alse|FALSE)$/;
const CORE_INT_OCT = /^0o[0-7]+$/;
const CORE_INT = /^[-+]?[0-9]+$/;
const CORE_INT_HEX = /^0x[0-9a-fA-F]+$/;
const CORE_FLOAT_NAN = /^(?:[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN)$/;
const CORE_FLOAT_EXP = /^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)[eE][-+]?[0-9]+$/;
const CORE_FLOAT = /^[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*)$/;

function resolvePlain(s: string): unknown {
  const c = s.charCodeAt(0);
  if ((c >= 0x30 && c <= 0x39) || c === 0x2b || c === DASH || c === 0x2e) {
    if (CORE_INT_OCT.test(s)) return parseInt(s.substring(2), 8);
    if (CORE_INT.test(s)) return parseInt(s, 10);
    if (CORE_INT_HEX.test(s)) return parseInt(s.substring(2), 16);
    if (CORE_FLOAT_NAN.test(s)) return s.slice(-3).toLowerCase() === 'nan' ? NaN : c === DASH ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
    if (CORE_FLOAT_EXP.test(s) || CORE_FLOAT.test(s)) return parseFloat(s);
    return s;
  }
  if (c === 0x7e || c === 0x6e || c === 0x4e || s === '') return CORE_NULL.test(s) ? null : s; // ~ n N
  if (c === 0x74 || c === 0x54 || c === 0x66 || c === 0x46) return CORE_BOOL.test(s) ? c === 0x74 || c === 0x54 : s; // t T f F
  return s;
}

/** A mapping key: `name` in the JS object, `key` as `yaml` holds it (a string, or a number for `0:`). */
interface PlainKey {
  name: string;
  key: string | number;
}

/** Integers as keys (`states: { 0: closed }`) whose JS key is their own text. */
const INDEX_KEY = /^(?:0|[1-9][0-9]{0,14})$/;

function plainKey(source: string): PlainKey {
  // Flow indicators in a key and keys over yaml's 1024-character limit are left to `yaml`.
  if (source.length > 1000 || /[,[\]{}]/.test(source)) notPlain();
  const value = resolvePlain(source);
  if (typeof value === 'string') return checkedKey(value, value);
  if (typeof value === 'number' && INDEX_KEY.test(source)) return checkedKey(source, value);
  return notPlain();
}

function checkedKey(name: string, key: string | number): PlainKey {
  if (name === '__proto__' || name === '<<') notPlain();
  return { name, key };
}

/** Where each value starts: by container, its items' or its keys' offsets. */
type Spans = Map<object, number[] | Map<string | number, number>>;

interface PlainDocument {
  value: unknown;
  /** Offset of the root collection. */
  start: number;
}

class PlainYamlReader {
  /** The current line: its start, indentation (-1 past the last line) and content end (before `\r\n`). */
  private lineStart = 0;
  private indent = -1;
  private end = 0;
  /** The cursor, within the current line. */
  private at = 0;
  private nextLine = 0;

  constructor(
    private readonly text: string,
    private readonly spans?: Spans,
  ) {}

  read(): PlainDocument {
    if (UNPLAIN_CHARS.test(this.text) || !this.advance()) notPlain();
    const start = this.at;
    const value = this.block(this.indent);
    if (this.indent !== -1) notPlain(); // a line less indented than the root, or a root sequence followed by a key
    return { value, start };
  }

  /** Moves to the next line with content, skipping blank and comment lines; false at the end. */
  private advance(): boolean {
    const t = this.text;
    let start = this.nextLine;
    while (start < t.length) {
      let nl = t.indexOf('\n', start);
      if (nl === -1) nl = t.length;
      const end = nl > start && t.charCodeAt(nl - 1) === CR ? nl - 1 : nl;
      let p = start;
      while (p < end && t.charCodeAt(p) === SPACE) p++;
      if (p < end && t.charCodeAt(p) !== HASH) {
        if (p === start && (t.startsWith('---', p) || t.startsWith('...', p))) notPlain(); // document markers
        this.lineStart = start;
        this.indent = p - start;
        this.at = p;
        this.end = end;
        this.nextLine = nl + 1;
        return true;
      }
      start = nl + 1;
    }
    this.indent = -1;
    this.at = this.end = this.nextLine = t.length;
    return false;
  }

  private char(): number {
    return this.at < this.end ? this.text.charCodeAt(this.at) : -1;
  }

  private skipSpaces(): void {
    while (this.at < this.end && this.text.charCodeAt(this.at) === SPACE) this.at++;
  }

  private atSeqItem(): boolean {
    return this.char() === DASH && (this.at + 1 === this.end || this.text.charCodeAt(this.at + 1) === SPACE);
  }

  /** A block sequence or mapping whose first entry is at the cursor, in column `col`. */
  private block(col: number): unknown {
    return this.atSeqItem() ? this.blockSeq(col) : this.blockMap(col);
  }

  private blockSeq(col: number): unknown[] {
    const items: unknown[] = [];
    const starts: number[] | undefined = this.spans ? [] : undefined;
    if (starts) this.spans!.set(items, starts);
    do {
      this.at++;
      this.skipSpaces();
      // An item on the following lines, an empty item, or `- - x`.
      if (this.at === this.end || this.char() === HASH || this.atSeqItem()) notPlain();
      starts?.push(this.at);
      items.push(this.itemValue());
    } while (this.indent === col && this.atSeqItem());
    if (this.indent > col) notPlain();
    return items;
  }

  /** A sequence item after its `- `: a compact mapping (`- id: x`) or a value on this line. */
  private itemValue(): unknown {
    const col = this.at - this.lineStart;
    const start = this.at;
    if (this.readKey()) {
      this.at = start;
      return this.blockMap(col);
    }
    const value = this.inline();
    this.lineDone();
    return value;
  }

  private blockMap(col: number): Record<string, unknown> {
    const map: Record<string, unknown> = {};
    const starts = this.spans ? new Map<string | number, number>() : undefined;
    if (starts) this.spans!.set(map, starts);
    do {
      const key = this.readKey() ?? notPlain();
      if (Object.hasOwn(map, key.name)) notPlain(); // a duplicate key: `yaml` words the error
      this.skipSpaces();
      let start = this.at;
      let value: unknown;
      if (this.at === this.end || this.char() === HASH) {
        // The value is a block on the following lines: more indented, or a sequence in this column.
        if (!this.advance() || this.indent < col || (this.indent === col && !this.atSeqItem())) notPlain();
        start = this.at;
        value = this.block(this.indent);
      } else {
        value = this.inline();
        this.lineDone();
      }
      map[key.name] = value;
      starts?.set(key.key, start);
    } while (this.indent === col);
    if (this.indent > col) notPlain(); // the continuation of a multi-line scalar, or bad indentation
    return map;
  }

  /** An implicit key and its `:` at the cursor, consumed; null (the cursor unmoved) if there is none. */
  private readKey(): PlainKey | null {
    const t = this.text;
    const start = this.at;
    const c = this.char();
    if (c === DQUOTE || c === QUOTE) {
      const name = c === DQUOTE ? this.doubleQuoted() : this.singleQuoted();
      if (this.char() === COLON && (this.at + 1 === this.end || t.charCodeAt(this.at + 1) === SPACE)) {
        this.at++;
        return checkedKey(name, name);
      }
      this.at = start;
      return null;
    }
    if (PLAIN_START_FORBIDDEN.has(c)) return null;
    for (let p = start + 1; p < this.end; p++) {
      const ch = t.charCodeAt(p);
      if (ch === COLON && (p + 1 === this.end || t.charCodeAt(p + 1) === SPACE)) {
        if (t.charCodeAt(p - 1) === SPACE) notPlain(); // `key :`
        const key = plainKey(t.slice(start, p));
        this.at = p + 1;
        return key;
      }
      if (ch === HASH && t.charCodeAt(p - 1) === SPACE) return null;
    }
    return null;
  }

  /** A value that ends on this line, in block context. */
  private inline(): unknown {
    const c = this.char();
    if (c === LBRACE || c === LBRACKET) return this.flow();
    if (c === DQUOTE) return this.doubleQuoted();
    if (c === QUOTE) return this.singleQuoted();
    return this.plain(false);
  }

  /** After a value, only spaces and a comment may follow on its line; moves to the next line. */
  private lineDone(): void {
    this.skipSpaces();
    if (this.at < this.end && (this.char() !== HASH || this.text.charCodeAt(this.at - 1) !== SPACE)) notPlain();
    this.advance();
  }

  /** A plain scalar on this line, resolved by the core schema. */
  private plain(inFlow: boolean): unknown {
    const t = this.text;
    const start = this.at;
    const c = this.char();
    if (c === -1) notPlain();
    if (PLAIN_START_FORBIDDEN.has(c)) {
      // `-2`, `-x` are plain scalars; `- `, `?`, `:` and the indicators are left to `yaml`.
      const next = start + 1 < this.end ? t.charCodeAt(start + 1) : SPACE;
      if (c !== DASH || next === SPACE || (inFlow && isFlowIndicator(next))) notPlain();
    }
    let p = start + 1;
    for (; p < this.end; p++) {
      const ch = t.charCodeAt(p);
      if (ch === COLON) {
        const next = p + 1 < this.end ? t.charCodeAt(p + 1) : SPACE;
        if (next === SPACE || (inFlow && isFlowIndicator(next))) notPlain(); // a mapping inside a value
      } else if (ch === HASH) {
        if (t.charCodeAt(p - 1) === SPACE) {
          if (inFlow) notPlain(); // a comment inside a flow collection
          break;
        }
      } else if (inFlow && isFlowIndicator(ch)) {
        if (ch === LBRACKET || ch === LBRACE) notPlain();
        break;
      }
    }
    let e = p;
    while (t.charCodeAt(e - 1) === SPACE) e--;
    this.at = p;
    return resolvePlain(t.slice(start, e));
  }

  private singleQuoted(): string {
    const t = this.text;
    let from = this.at + 1;
    let out = '';
    for (;;) {
      const q = t.indexOf("'", from);
      if (q === -1 || q >= this.end) notPlain(); // runs on to another line
      if (q + 1 < this.end && t.charCodeAt(q + 1) === QUOTE) {
        out += t.slice(from, q + 1);
        from = q + 2;
        continue;
      }
      this.at = q + 1;
      return out + t.slice(from, q);
    }
  }

  private doubleQuoted(): string {
    const t = this.text;
    let from = this.at + 1;
    let out = '';
    for (let p = from; p < this.end; p++) {
      const c = t.charCodeAt(p);
      if (c === DQUOTE) {
        this.at = p + 1;
        return out + t.slice(from, p);
      }
      if (c === BACKSLASH) {
        const escaped = p + 1 < this.end ? ESCAPES.get(t[p + 1]!) : undefined;
        if (escaped === undefined) notPlain();
        out += t.slice(from, p) + escaped;
        from = ++p + 1;
      }
    }
    return notPlain(); // runs on to another line
  }

  /** A flow collection that closes on this line. */
  private flow(): unknown {
    const close = this.char() === LBRACKET ? RBRACKET : RBRACE;
    const seq: unknown[] | undefined = close === RBRACKET ? [] : undefined;
    const map: Record<string, unknown> | undefined = seq ? undefined : {};
    const seqStarts: number[] | undefined = this.spans && seq ? [] : undefined;
    const mapStarts = this.spans && map ? new Map<string | number, number>() : undefined;
    if (this.spans) this.spans.set((seq ?? map)!, (seqStarts ?? mapStarts)!);
    this.at++;
    this.skipSpaces();
    if (this.char() === close) {
      this.at++;
      return seq ?? map;
    }
    for (;;) {
      if (map) {
        const key = this.flowKey();
        if (Object.hasOwn(map, key.name)) notPlain();
        this.skipSpaces();
        mapStarts?.set(key.key, this.at);
        map[key.name] = this.flowValue();
      } else {
        seqStarts?.push(this.at);
        seq!.push(this.flowValue());
      }
      this.skipSpaces();
      const c = this.char();
      this.at++;
      if (c === close) return seq ?? map;
      if (c !== COMMA) notPlain();
      this.skipSpaces();
      if (this.char() === close || this.char() === COMMA) notPlain(); // a trailing comma or an empty entry
    }
  }

  /** `key: ` inside a flow mapping. */
  private flowKey(): PlainKey {
    const t = this.text;
    const c = this.char();
    let key: PlainKey;
    if (c === DQUOTE || c === QUOTE) {
      const name = c === DQUOTE ? this.doubleQuoted() : this.singleQuoted();
      key = checkedKey(name, name);
      if (this.char() !== COLON) notPlain();
    } else {
      if (c === -1 || PLAIN_START_FORBIDDEN.has(c)) notPlain();
      let p = this.at + 1;
      while (p < this.end && !(t.charCodeAt(p) === COLON && t.charCodeAt(p + 1) === SPACE)) {
        if (t.charCodeAt(p) === HASH && t.charCodeAt(p - 1) === SPACE) notPlain();
        p++;
      }
      if (p === this.end || t.charCodeAt(p - 1) === SPACE) notPlain(); // no value, or `key :`
      key = plainKey(t.slice(this.at, p));
      this.at = p;
    }
    this.at++;
    if (this.char() !== SPACE) notPlain(); // `{ "a":1 }` and `{ a: }` are left to `yaml`
    return key;
  }

  private flowValue(): unknown {
    const c = this.char();
    if (c === LBRACE || c === LBRACKET) return this.flow();
    if (c === DQUOTE) return this.doubleQuoted();
    if (c === QUOTE) return this.singleQuoted();
    return this.plain(true);
  }
}

/** The plain reading of `text`, or null when it is not plain YAML (see above). */
function readPlainYaml(text: string): YamlSource | null {
  let doc: PlainDocument;
  try {
    doc = new PlainYamlReader(text).read();
  } catch (err) {
    // Not plain, or nested deeper than the stack allows: `yaml` reads it, or words why not.
    if (err === NOT_PLAIN || err instanceof RangeError) return null;
    throw err;
  }
  let locateIn: YamlSource['locate'] | undefined;
  return {
    value: doc.value,
    // Positions are read only for a problem: a second read, with spans.
    locate: (path) => (locateIn ??= plainLocator(text))(path),
  };
}

/** Locates a path as `locate` does in `yaml`'s document (`getIn(path, true).range[0]`). */
function plainLocator(text: string): YamlSource['locate'] {
  const spans: Spans = new Map();
  const doc = new PlainYamlReader(text, spans).read();
  const counter = new LineCounter();
  counter.addNewLine(0);
  for (let nl = text.indexOf('\n'); nl !== -1; nl = text.indexOf('\n', nl + 1)) counter.addNewLine(nl + 1);
  return (path) => {
    let node = doc.value;
    let at = doc.start;
    for (const key of path) {
      const starts = typeof node === 'object' && node !== null ? spans.get(node) : undefined;
      if (Array.isArray(starts)) {
        // As YAMLSeq.get: an index, or a string that is one.
        const index = typeof key === 'string' && key ? Number(key) : key;
        if (typeof index !== 'number' || !Number.isInteger(index) || index < 0 || index >= starts.length) break;
        at = starts[index]!;
        node = (node as unknown[])[index];
      } else if (starts) {
        // As YAMLMap.get: the key as yaml holds it (`0:` only matches 0, `'0':` only '0').
        const start = starts.get(key);
        if (start === undefined) break;
        at = start;
        node = (node as Record<string, unknown>)[String(key)];
      } else break;
    }
    const { line, col } = counter.linePos(at);
    return { line, column: col };
  };
}

// ── defaults and checks ──────────────────────────────────────────────────────────────────────

interface SchemaPlan {
  /** The schema's defaults applied, as TypeBox's Value.Default (mutates `value`). */
  defaults(value: unknown): unknown;
  check(value: unknown): boolean;
}

const plans = new WeakMap<TSchema, SchemaPlan>();

function planOf(schema: TSchema): SchemaPlan {
  let plan = plans.get(schema);
  if (!plan) {
    plan = { defaults: walkable(schema) ? defaulterOf(schema) : (value) => Value.Default(schema, value), check: checkOf(schema) };
    plans.set(schema, plan);
  }
  return plan;
}

const checks = new WeakMap<TSchema, (value: unknown) => boolean>();

/** A compiled checker, compiled once per schema. */
function checkOf(schema: TSchema): (value: unknown) => boolean {
  let check = checks.get(schema);
  if (!check) {
    const compiled = TypeCompiler.Compile(schema);
    check = (value) => compiled.Check(value);
    checks.set(schema, check);
  }
  return check;
}

type Schema = TSchema & Record<string, any>;
type Defaulter = (value: unknown) => unknown;
const isObject = (value: unknown): value is Record<PropertyKey, unknown> => value !== null && typeof value === 'object';
const hasDefault = (schema: unknown) => isObject(schema) && typeof schema[Kind] === 'string' && 'default' in schema;
/** Kinds TypeBox's Value.Default walks into; any other kind is a leaf to it. */
const WALKED = new Set(['Array', 'Date', 'Import', 'Intersect', 'Object', 'Record', 'Ref', 'This', 'Tuple', 'Union']);

/**
 * Value.Default visits every property of an object twice and type-checks each branch of a union it
 * tries with the interpreted checker: for a site, every point 8 times, 4.6 s for 100,000 points.
 * The defaulters below visit once and check compiled, and give the same value wherever a second
 * visit changes nothing: for schemas of objects, arrays and records whose unions are either of
 * leaves (strings, numbers, literals …) or of objects told apart by a required literal (`protocol`,
 * `type`), so that defaults never change which branch a value takes. Other schemas go to
 * Value.Default.
 */
function walkable(schema: Schema): boolean {
  switch (schema[Kind]) {
    case 'Object':
      return !hasDefault(schema.additionalProperties) && Object.values(schema.properties as Record<string, Schema>).every(walkable);
    case 'Array':
      return walkable(schema.items);
    case 'Record': {
      const patterns = Object.values(schema.patternProperties as Record<string, Schema>);
      return !hasDefault(schema.additionalProperties) && patterns.length === 1 && walkable(patterns[0]!);
    }
    case 'Union': {
      const key = unionKey(schema);
      return key === null || (key !== undefined && (schema.anyOf as Schema[]).every(walkable));
    }
    default:
      return !WALKED.has(schema[Kind]);
  }
}

/** null for a union of leaves, the discriminating key for a union of objects, undefined for any other union. */
function unionKey(schema: Schema): string | null | undefined {
  const branches = schema.anyOf as Schema[];
  if (branches.every((b) => !WALKED.has(b[Kind]) && !('default' in b))) return null;
  if (!branches.every((b) => b[Kind] === 'Object' && !('default' in b))) return undefined;
  const literal = (b: Schema, k: string): Schema | undefined => {
    const p = (b.properties as Record<string, Schema>)[k];
    return p && 'const' in p && !('default' in p) && (b.required as string[] | undefined)?.includes(k) ? p : undefined;
  };
  return Object.keys(branches[0]!.properties as object).find(
    (k) => branches.every((b) => literal(b, k)) && new Set(branches.map((b) => literal(b, k)!.const)).size === branches.length,
  );
}

const defaulters = new WeakMap<TSchema, Defaulter>();

/** Value.Default for a `walkable` schema, each property visited once; built once per schema. */
function defaulterOf(schema: Schema): Defaulter {
  let defaulter = defaulters.get(schema);
  if (!defaulter) {
    defaulter = buildDefaulter(schema);
    defaulters.set(schema, defaulter);
  }
  return defaulter;
}

function buildDefaulter(schema: Schema): Defaulter {
  const orDefault = valueOrDefault(schema);
  switch (schema[Kind]) {
    case 'Object': {
      const properties = Object.getOwnPropertyNames(schema.properties).map((key) => [key, defaulterOf(schema.properties[key])] as const);
      return (value) => {
        const out = orDefault(value);
        if (!isObject(out)) return out;
        for (const [key, defaulter] of properties) {
          const v = defaulter(out[key]);
          if (v !== undefined) out[key] = v;
        }
        return out;
      };
    }
    case 'Array': {
      const items = defaulterOf(schema.items);
      return (value) => {
        const out = Array.isArray(value) ? value : orDefault(value);
        if (!Array.isArray(out)) return out;
        for (let i = 0; i < out.length; i++) out[i] = items(out[i]);
        return out;
      };
    }
    case 'Record': {
      const [pattern, property] = Object.entries(schema.patternProperties as Record<string, Schema>)[0]!;
      if (!hasDefault(property)) return orDefault;
      const known = new RegExp(pattern);
      const values = defaulterOf(property);
      return (value) => {
        const out = orDefault(value);
        if (!isObject(out)) return out;
        for (const key of Object.getOwnPropertyNames(out)) if (known.test(key)) out[key] = values(out[key]);
        return out;
      };
    }
    case 'Union': {
      const key = unionKey(schema);
      // A union of leaves: TypeBox gives the value, or a copy of it.
      if (key === null || key === undefined) return orDefault;
      const branches = (schema.anyOf as Schema[]).map((b) => ({ literal: b.properties[key].const as unknown, defaults: defaulterOf(b), check: checkOf(b) }));
      return (value) => {
        const out = orDefault(value);
        for (const branch of branches) {
          // A branch whose literal differs fails its check whatever its defaults: skip the copy.
          if (isObject(out) && out[key] !== branch.literal) continue;
          const candidate = branch.defaults(cloneData(out));
          if (branch.check(candidate)) return candidate;
        }
        return out;
      };
    }
    default:
      return orDefault;
  }
}

/** TypeBox's ValueOrDefault, for one schema. */
function valueOrDefault(schema: Schema): Defaulter {
  if (!('default' in schema)) return (value) => value;
  const dflt: unknown = schema.default;
  if (typeof dflt === 'function')
    return (value) => {
      const made: unknown = dflt();
      return value === undefined ? made : isObject(value) && isObject(made) ? Object.assign(made, value) : value;
    };
  if (!isObject(dflt)) return (value) => (value === undefined ? dflt : value);
  return (value) => (value === undefined ? Value.Clone(dflt) : isObject(value) ? Object.assign(Value.Clone(dflt), value) : value);
}

/** Value.Clone, quicker for plain data (what YAML reads to: plain objects, arrays, primitives). */
function cloneData(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return value.map(cloneData);
  if (Object.getPrototypeOf(value) !== Object.prototype) return Value.Clone(value);
  const out: Record<string, unknown> = {};
  for (const key in value) out[key] = cloneData((value as Record<string, unknown>)[key]);
  return out;
}

/** A file's text, or `opts.fail` with a problem that says why it cannot be read. */
export function readYamlText(path: string, opts: Pick<YamlFileOptions, 'kind' | 'fail'>): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw opts.fail([{ file: path, line: 1, column: 1, field: '(file)', message: `cannot read the ${opts.kind} file: ${(err as Error).message}` }]);
  }
}
