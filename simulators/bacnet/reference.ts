/** Markdown object lists for simulators/README.md, rendered from the tables the devices serve. */
import { ObjectType, PropertyIdentifier as P } from '@bacnet-js/client';
import type { FaultSpec } from '../device.ts';
import type { BacnetObject } from './objects.ts';

/** Properties every object has: left out of the "properties" column. */
const COMMON = new Set<number>([P.OBJECT_IDENTIFIER, P.OBJECT_NAME, P.OBJECT_TYPE, P.DESCRIPTION, P.PROPERTY_LIST, P.STATUS_FLAGS, P.EVENT_STATE, P.RELIABILITY, P.OUT_OF_SERVICE]);

export interface ReferenceInput {
  title: string;
  intro: string;
  objects: BacnetObject[];
  /** Objects to show as one row each; the rest are summarised by `collapsed`. */
  show?: (o: BacnetObject) => boolean;
  collapsed?: string;
  faults: FaultSpec[];
  notes: string[];
}

export function renderReference(input: ReferenceInput): string {
  const rows = input.objects.filter(input.show ?? (() => true)).map((o) => {
    const props = o.properties
      .filter((p) => !COMMON.has(p.id))
      .map((p) => `${propertyName(p.id)}${p.array ? '[]' : ''}${p.unencodable ? ' †' : ''}`)
      .join(', ');
    return `| ${typeName(o.type)} (${o.type}) | ${o.instance} | \`${o.name}\` | ${o.description} | ${props} | ${o.summary}${o.cov ? '; COV' : ''} |`;
  });
  const unencodable = input.objects
    .flatMap((o) => o.properties.filter((p) => p.unencodable).map((p) => ({ type: o.type, id: p.id, why: p.unencodable! })))
    .filter((x, i, all) => all.findIndex((y) => y.type === x.type && y.id === x.id) === i);
  return [
    `### ${input.title}`,
    '',
    input.intro,
    '',
    '| object type | instance | name | description | properties | values |',
    '| --- | --- | --- | --- | --- | --- |',
    ...rows,
    ...(input.collapsed ? [`| … | | | ${input.collapsed} | | |`] : []),
    '',
    'Every object also has Object_Identifier, Object_Name, Object_Type, Description and Property_List[]; every object but the Device has Status_Flags, Event_State, Reliability and Out_Of_Service. `[]` marks a BACnetARRAY (index 0 is its length; read element by element when it does not fit one APDU); COV marks objects that accept SubscribeCOV (notifying Present_Value and Status_Flags).',
    ...(unencodable.length
      ? ['', '† Not encodable by @bacnet-js/client (its encoder throws "Unknown type" on constructed values); reading it answers Error property/other:', ...unencodable.map((u) => `- ${typeName(u.type)} ${propertyName(u.id)}: ${u.why}`)]
      : []),
    '',
    '| fault | what it does |',
    '| --- | --- |',
    ...input.faults.map((f) => `| \`${f.name}\` | ${f.description} |`),
    ...(input.notes.length ? ['', ...input.notes.map((n) => `- ${n}`)] : []),
    '',
  ].join('\n');
}

function typeName(type: number): string {
  return (ObjectType[type] ?? String(type)).toLowerCase().replaceAll('_', '-');
}

function propertyName(id: number): string {
  return (P[id] ?? String(id))
    .toLowerCase()
    .split('_')
    .map((w) => w[0]!.toUpperCase() + w.slice(1))
    .join('_');
}
