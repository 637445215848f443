/** Response schemas shared by several areas. A response schema is an allowlist: nothing else is sent. */
import { Type } from '@sinclair/typebox';
import { ROLES } from '@vigil/model';

export const ErrorResponse = Type.Object({
  error: Type.Object({ code: Type.String(), message: Type.String(), field: Type.Optional(Type.String()) }),
});

/** Every route declares its error bodies too, so an error leaves through the same allowlist. */
export const errorResponses = { '4xx': ErrorResponse, '5xx': ErrorResponse } as const;

/** A string enum that ajv reports as "must be equal to one of the allowed values" (a union of literals reports per branch). */
export function StringEnum<T extends readonly string[]>(values: T, options: { description?: string; default?: T[number] } = {}) {
  return Type.Unsafe<T[number]>({ type: 'string', enum: [...values], ...options });
}

export const RoleSchema = StringEnum(ROLES);

export const UserResponse = Type.Object({ username: Type.String(), name: Type.String(), role: RoleSchema });

export const SampleValue = Type.Union([Type.Number(), Type.Boolean(), Type.String(), Type.Null()]);
export const QualityResponse = StringEnum(['good', 'uncertain', 'bad'] as const);

/** Alarm and ticket ids in URLs: bounded like the command schemas bound them. */
export const RecordId = Type.String({ minLength: 1, maxLength: 64 });
