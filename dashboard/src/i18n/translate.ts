import { dictionary, type Language, type MessageKey } from './dictionary.ts';

export type MessageParams = Record<string, string | number>;

/** The text of `key` in `language`, with `{name}` replaced by `params.name` (unknown names are left visible). */
export function translate(language: Language, key: MessageKey, params?: MessageParams): string {
  const template = dictionary[language][key] ?? dictionary.en[key] ?? key;
  if (!params) return template;
  return template.replace(/\{(\w+)\}/g, (whole, name: string) => (name in params ? String(params[name]) : whole));
}

/** The `{name}` parameters a template uses, for the completeness test. */
export function placeholders(template: string): string[] {
  return [...template.matchAll(/\{(\w+)\}/g)].map((m) => m[1] ?? '').sort();
}
