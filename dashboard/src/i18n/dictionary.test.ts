import { describe, expect, it } from 'vitest';
import { dictionary, LANGUAGES } from './dictionary.ts';
import { placeholders, translate } from './translate.ts';

describe('dictionary', () => {
  const english = Object.keys(dictionary.en).sort();

  it.each(LANGUAGES)('%s has exactly the English keys, none empty', (language) => {
    const table = dictionary[language];
    expect(Object.keys(table).sort()).toEqual(english);
    for (const key of english) expect(table[key as keyof typeof table].trim(), key).not.toBe('');
  });

  it.each(LANGUAGES)('%s uses the same {parameters} as English in every message', (language) => {
    for (const key of english) {
      const k = key as keyof typeof dictionary.en;
      expect(placeholders(dictionary[language][k]), key).toEqual(placeholders(dictionary.en[k]));
    }
  });

  it('names the labels a browser test looks for in English', () => {
    expect(translate('en', 'login.username')).toBe('Username');
    expect(translate('en', 'login.password')).toBe('Password');
    expect(translate('en', 'login.submit')).toBe('Sign in');
    expect(translate('en', 'login.wrong')).toBe('Wrong username or password');
    expect(translate('en', 'alarms.title')).toBe('Active alarms');
    expect(translate('en', 'alarms.empty')).toBe('No active alarms');
    expect(translate('en', 'points.title')).toBe('Live values');
    expect(translate('en', 'tickets.title')).toBe('Tickets');
    expect(translate('en', 'sim.injectFault', { fault: 'cavitation', device: 'booster-1' })).toBe('Inject cavitation on booster-1');
    expect(translate('en', 'sim.clearFault', { fault: 'cavitation', device: 'booster-1' })).toBe('Clear cavitation on booster-1');
  });
});

describe('translate', () => {
  it('fills parameters and leaves unknown ones visible', () => {
    expect(translate('en', 'alarms.summary', { total: 3, unacked: 1 })).toBe('3 active, 1 unacknowledged');
    expect(translate('en', 'alarms.summary', { total: 3 })).toBe('3 active, {unacked} unacknowledged');
  });

  it('speaks Chinese when asked', () => {
    expect(translate('zh-CN', 'alarms.acknowledge')).toBe('确认');
  });
});
