import { useCallback, useEffect, useMemo, useState, type ReactNode } from 'react';
import type { Language, MessageKey } from './dictionary.ts';
import { I18nContext, type I18n } from './I18nContext.ts';
import { storeLanguage, storedLanguage } from './storedLanguage.ts';
import { translate, type MessageParams } from './translate.ts';

export function I18nProvider({ children }: { children: ReactNode }) {
  const [language, setLanguageState] = useState<Language>(storedLanguage);

  // Screen readers and CJK font selection both follow <html lang>.
  useEffect(() => {
    document.documentElement.lang = language;
  }, [language]);

  const setLanguage = useCallback((next: Language) => {
    storeLanguage(next);
    setLanguageState(next);
  }, []);

  const value = useMemo<I18n>(
    () => ({ language, setLanguage, t: (key: MessageKey, params?: MessageParams) => translate(language, key, params) }),
    [language, setLanguage],
  );
  return <I18nContext.Provider value={value}>{children}</I18nContext.Provider>;
}
