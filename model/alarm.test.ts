import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { alarmTransition, ANNUNCIATED_STATES, type AlarmEvent, type AlarmSnapshot } from './index.ts';

const start = (latching = false): AlarmSnapshot => ({ state: 'normal', conditionActive: false, latching });

function run(s: AlarmSnapshot, ...events: AlarmEvent['type'][]): AlarmSnapshot {
  for (const type of events) {
    const t = alarmTransition(s, { type } as AlarmEvent);
    if (!t.ok) throw new Error(`${type} refused in ${s.state}: ${t.reason}`);
    s = t.next;
  }
  return s;
}

describe('ISA-18.2 alarm state machine', () => {
  it('goes unacknowledged-active → acknowledged-active → normal', () => {
    expect(run(start(), 'activate').state).toBe('unacknowledged-active');
    expect(run(start(), 'activate', 'ack').state).toBe('acknowledged-active');
    expect(run(start(), 'activate', 'ack', 'clear').state).toBe('normal');
  });

  it('a return to normal before the ack waits for the ack (RTN unacknowledged)', () => {
    expect(run(start(), 'activate', 'clear').state).toBe('unacknowledged-returned');
    expect(run(start(), 'activate', 'clear', 'ack').state).toBe('normal');
    expect(run(start(), 'activate', 'clear', 'activate').state).toBe('unacknowledged-active');
  });

  it('refuses to acknowledge twice (409 in the API)', () => {
    const t = alarmTransition(run(start(), 'activate', 'ack'), { type: 'ack' });
    expect(t).toEqual({ ok: false, reason: 'the alarm is already acknowledged' });
  });

  it('latches a fire alarm until reset, and only after the condition is gone', () => {
    const acked = run(start(true), 'activate', 'ack', 'clear');
    expect(acked).toMatchObject({ state: 'acknowledged-active', conditionActive: false });
    expect(run(acked, 'reset').state).toBe('normal');
    const stillBurning = run(start(true), 'activate', 'ack');
    expect(alarmTransition(stillBurning, { type: 'reset' })).toMatchObject({ ok: false, reason: 'the condition is still present' });
    expect(alarmTransition(run(start(true), 'activate'), { type: 'reset' }).ok).toBe(false);
  });

  it('shelving, suppression and out-of-service return to what the process says', () => {
    expect(run(start(), 'activate', 'shelve', 'unshelve').state).toBe('unacknowledged-active');
    expect(run(start(), 'activate', 'shelve', 'clear', 'unshelve').state).toBe('normal');
    expect(run(start(), 'suppress', 'activate', 'unsuppress').state).toBe('unacknowledged-active');
    expect(run(start(), 'activate', 'remove-from-service', 'clear', 'return-to-service').state).toBe('normal');
  });

  // Property: whatever happens, an alarm whose condition is present is never silently normal, and
  // once nothing hides it any more, a present condition is always on the operator's console.
  it('never loses an active condition, for any sequence of events', () => {
    const eventType = fc.constantFrom<AlarmEvent['type']>('activate', 'clear', 'ack', 'reset', 'shelve', 'unshelve', 'suppress', 'unsuppress', 'remove-from-service', 'return-to-service');
    fc.assert(
      fc.property(fc.boolean(), fc.array(eventType, { maxLength: 40 }), (latching, events) => {
        let s = start(latching);
        for (const type of events) {
          const t = alarmTransition(s, { type } as AlarmEvent);
          if (t.ok) s = t.next;
          if (s.conditionActive) expect(s.state).not.toBe('normal');
        }
        // Unhide everything: a present condition must be annunciated.
        s = run(s, ...(['unshelve', 'unsuppress', 'return-to-service'] as const).filter((type) => alarmTransition(s, { type }).ok && s.state !== 'normal'));
        if (s.conditionActive) expect(ANNUNCIATED_STATES).toContain(s.state);
      }),
      { numRuns: 2000 },
    );
  });
});
