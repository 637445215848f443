import { ApiError } from '../api/ApiError.ts';
import type { MessageKey } from '../i18n/dictionary.ts';
import type { I18n } from '../i18n/I18nContext.ts';

const TITLES: Partial<Record<number, MessageKey>> = {
  0: 'error.network',
  400: 'error.400',
  401: 'error.401',
  403: 'error.403',
  404: 'error.404',
  409: 'error.409',
  504: 'error.504',
};

/** A headline in the user's language and the server's own words (which name what to change). */
export function describeError(error: unknown, t: I18n['t']): { title: string; detail: string } {
  if (error instanceof ApiError) {
    const title = t(TITLES[error.status] ?? 'error.server');
    const field = error.field ? ` (${t('error.field', { field: error.field })})` : '';
    return { title, detail: `${error.message}${field}` };
  }
  return { title: t('error.server'), detail: error instanceof Error ? error.message : String(error) };
}
