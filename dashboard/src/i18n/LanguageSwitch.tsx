import { LANGUAGES, LANGUAGE_NAMES } from './dictionary.ts';
import { useI18n } from './useI18n.ts';

/** English / 简体中文 as two toggle buttons, each labelled in its own language. */
export function LanguageSwitch() {
  const { language, setLanguage, t } = useI18n();
  return (
    <div className="language-switch" role="group" aria-label={t('language.label')}>
      {LANGUAGES.map((option) => (
        <button key={option} type="button" lang={option} aria-pressed={option === language} onClick={() => setLanguage(option)}>
          {LANGUAGE_NAMES[option]}
        </button>
      ))}
    </div>
  );
}
