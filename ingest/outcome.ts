/** What an operator command comes to: the updated record, or why not (maps to commandResult's error). */
export type CommandErrorCode = 'invalid' | 'not-found' | 'conflict';
export type Outcome<T> = { ok: true; value: T } | { ok: false; code: CommandErrorCode; message: string };

export const done = <T>(value: T): Outcome<T> => ({ ok: true, value });
export const fail = <T>(code: CommandErrorCode, message: string): Outcome<T> => ({ ok: false, code, message });
