import { LANGUAGES, type Language } from './dictionary.ts';

const KEY = 'vigil.language';

function isLanguage(value: unknown): value is Language {
  return typeof value === 'string' && (LANGUAGES as readonly string[]).includes(value);
}

/** The language chosen last time on this browser; English when none (or storage is blocked). */
export function storedLanguage(): Language {
  try {
    const value = localStorage.getItem(KEY);
    return isLanguage(value) ? value : 'en';
  } catch {
    return 'en';
  }
}

export function storeLanguage(language: Language): void {
  try {
    localStorage.setItem(KEY, language);
  } catch {
    // Private mode or a full quota: the choice lasts for this page only.
  }
}
