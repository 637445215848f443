import { createContext } from 'react';
import type { Language, MessageKey } from './dictionary.ts';
import { translate, type MessageParams } from './translate.ts';

export interface I18n {
  language: Language;
  setLanguage: (language: Language) => void;
  t: (key: MessageKey, params?: MessageParams) => string;
}

// English without a provider, so an error boundary above it still has words.
export const I18nContext = createContext<I18n>({
  language: 'en',
  setLanguage: () => {},
  t: (key, params) => translate('en', key, params),
});
