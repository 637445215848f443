/** What a command's answer means for the HTTP caller (DESIGN.md, "Bus topics": commands). */
import type { CommandResult } from '@vigil/model';
import { ApiError, type ApiErrorCode } from '../errors.ts';

const byCode: Record<string, ApiErrorCode> = {
  invalid: 'VIGIL_ERR_BAD_REQUEST',
  'not-found': 'VIGIL_ERR_NOT_FOUND',
  conflict: 'VIGIL_ERR_CONFLICT',
  forbidden: 'VIGIL_ERR_FORBIDDEN',
};

/** The record a successful command returns (`result` is the record, or `{ [key]: record }`); throws the mapped error otherwise. */
export function commandRecord<T>(result: CommandResult, key: string, check: (value: unknown) => { ok: true; value: T } | { ok: false; error: string }): T | undefined {
  if (!result.ok) throw new ApiError(byCode[result.error.code] ?? 'VIGIL_ERR_INTERNAL', result.error.message);
  const raw = result.result;
  const direct = check(raw);
  if (direct.ok) return direct.value;
  if (raw !== null && typeof raw === 'object' && key in raw) {
    const nested = check((raw as Record<string, unknown>)[key]);
    if (nested.ok) return nested.value;
  }
  return undefined;
}
