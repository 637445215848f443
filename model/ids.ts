/** Ids of sites, buildings, floors, assets, devices and gateways (DESIGN.md, "Identifiers and time"). */
export const ID_PATTERN = '^[a-z0-9][a-z0-9_-]*$';
const idRegex = new RegExp(ID_PATTERN);

/** A point id is `<asset>.<point>`, e.g. `pump-b1-1.discharge_pressure`. */
export const POINT_ID_PATTERN = '^[a-z0-9][a-z0-9_-]*\\.[a-z0-9][a-z0-9_-]*$';
const pointIdRegex = new RegExp(POINT_ID_PATTERN);

export function isId(value: unknown): value is string {
  return typeof value === 'string' && idRegex.test(value);
}

export function isPointId(value: unknown): value is string {
  return typeof value === 'string' && pointIdRegex.test(value);
}

export function splitPointId(pointId: string): { asset: string; name: string } {
  const dot = pointId.indexOf('.');
  return { asset: pointId.slice(0, dot), name: pointId.slice(dot + 1) };
}
