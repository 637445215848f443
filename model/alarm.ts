/**
 * The alarm model of ISA-18.2 / IEC 62682 (DESIGN.md, "Alarm model"): the record that ingest stores
 * and publishes, and the pure state machine that decides every transition.
 */
import { Type, type Static } from '@sinclair/typebox';

export const ALARM_STATES = [
  'normal',
  'unacknowledged-active',
  'acknowledged-active',
  'unacknowledged-returned',
  'shelved',
  'suppressed-by-design',
  'out-of-service',
] as const;
export type AlarmState = (typeof ALARM_STATES)[number];

/** States an operator must see on the console (the alarm is "active" in the API's sense). */
export const ANNUNCIATED_STATES: readonly AlarmState[] = ['unacknowledged-active', 'acknowledged-active', 'unacknowledged-returned'];

/** 1 critical, 2 high, 3 medium, 4 low. */
export type Priority = 1 | 2 | 3 | 4;
export const PRIORITY_NAMES: Record<Priority, string> = { 1: 'critical', 2: 'high', 3: 'medium', 4: 'low' };

export const DEPARTMENTS = ['technical', 'security'] as const;
export type Department = (typeof DEPARTMENTS)[number];

const PrioritySchema = Type.Union([Type.Literal(1), Type.Literal(2), Type.Literal(3), Type.Literal(4)]);
export const DepartmentSchema = Type.Union([Type.Literal('technical'), Type.Literal('security')]);

/** Why an alarm fired, so the person who sees it can judge it. */
export const ExplanationSchema = Type.Object({
  rule: Type.String(),
  /** The samples that made the decision, oldest first. */
  values: Type.Array(Type.Object({ ts: Type.Integer(), value: Type.Union([Type.Number(), Type.Boolean(), Type.String(), Type.Null()]) })),
  limit: Type.Optional(Type.Number()),
  deadband: Type.Optional(Type.Number()),
  onDelayMs: Type.Optional(Type.Integer()),
  /** The span of sample time the rule looked at (rate of change, flatline, bursts, combined conditions). */
  windowMs: Type.Optional(Type.Integer()),
  /** Figures particular to the rule: the baseline of a statistical detector, a count of events … */
  details: Type.Optional(Type.Record(Type.String(), Type.Union([Type.Number(), Type.String(), Type.Boolean(), Type.Null()]))),
});
export type Explanation = Static<typeof ExplanationSchema>;

export const AlarmSchema = Type.Object({
  id: Type.String(),
  site: Type.String(),
  /** The configured alarm this occurrence belongs to: `<detector>:<point or asset>`. One open occurrence per key. */
  key: Type.String(),
  detector: Type.String(),
  asset: Type.String(),
  point: Type.Optional(Type.String()),
  /** The device a communication alarm is about; it stands for the suppressed alarms of that device's points. */
  device: Type.Optional(Type.String()),
  /** The operator area (the building) for flood counting and routing. */
  area: Type.String(),
  state: Type.Union(ALARM_STATES.map((s) => Type.Literal(s))),
  /** Whether the process condition is still present, whatever the operator did. */
  conditionActive: Type.Boolean(),
  latching: Type.Boolean(),
  priority: PrioritySchema,
  department: DepartmentSchema,
  category: Type.String(),
  message: Type.String(),
  procedure: Type.Optional(Type.String()),
  explanation: ExplanationSchema,
  raisedAt: Type.Integer(),
  changedAt: Type.Integer(),
  ackedBy: Type.Optional(Type.String()),
  ackedAt: Type.Optional(Type.Integer()),
  ticketId: Type.Optional(Type.String()),
  /** Shelved by an operator (ISA-18.2 §11.5): by whom, why and until when (wall time); unshelved automatically then. */
  shelvedBy: Type.Optional(Type.String()),
  shelvedUntil: Type.Optional(Type.Integer()),
  shelveReason: Type.Optional(Type.String()),
  /** Why it is hidden by design: `maintenance`, `comm-loss:<device>`, or the out-of-service reason. */
  hiddenBy: Type.Optional(Type.String()),
  /** ISA-18.2 §16.9 / EEMUA 191: 3 or more activations in 60 s. */
  chattering: Type.Optional(Type.Boolean()),
  /** Raised while its operator area was in flood (10 or more new alarms in 10 min). */
  flood: Type.Optional(Type.Boolean()),
  /** Activations of this occurrence (a chattering alarm re-activates one occurrence). */
  activations: Type.Optional(Type.Integer()),
  /** Re-annunciated this many times because it stayed unacknowledged (ISA-18.2 re-alarming). */
  reAlarms: Type.Optional(Type.Integer()),
  reAlarmedAt: Type.Optional(Type.Integer()),
});
export type Alarm = Static<typeof AlarmSchema>;

export type AlarmEvent =
  | { type: 'activate' }
  | { type: 'clear' }
  | { type: 'ack' }
  | { type: 'reset' }
  | { type: 'shelve' }
  | { type: 'unshelve' }
  | { type: 'suppress' }
  | { type: 'unsuppress' }
  | { type: 'remove-from-service' }
  | { type: 'return-to-service' };

export interface AlarmSnapshot {
  state: AlarmState;
  conditionActive: boolean;
  latching: boolean;
}

export type AlarmTransition = { ok: true; next: AlarmSnapshot } | { ok: false; reason: string };

/**
 * Where an alarm goes when the operator or the design stops hiding it: back to what the process says.
 * A latching alarm (a fire alarm, GB 4717) stays latched until reset, so it comes back annunciated
 * even when its condition cleared while it was hidden: a hidden fire alarm is never lost.
 */
function reevaluate(s: AlarmSnapshot): AlarmSnapshot {
  return { ...s, state: s.conditionActive || s.latching ? 'unacknowledged-active' : 'normal' };
}

const refuse = (reason: string): AlarmTransition => ({ ok: false, reason });
const go = (next: AlarmSnapshot): AlarmTransition => ({ ok: true, next });

/**
 * The ISA-18.2 alarm state machine (figure 5 of the standard), with latching: a latching alarm
 * (a fire alarm) stays acknowledged-active after its condition clears, until an operator resets it.
 * Pure: no clocks, no I/O.
 */
export function alarmTransition(s: AlarmSnapshot, event: AlarmEvent): AlarmTransition {
  switch (event.type) {
    case 'activate':
      if (s.state === 'normal' || s.state === 'unacknowledged-returned') return go({ ...s, state: 'unacknowledged-active', conditionActive: true });
      // Hidden or already annunciated: remember the condition only.
      return go({ ...s, conditionActive: true });
    case 'clear':
      if (s.state === 'unacknowledged-active') return go({ ...s, conditionActive: false, state: s.latching ? s.state : 'unacknowledged-returned' });
      if (s.state === 'acknowledged-active') return go({ ...s, conditionActive: false, state: s.latching ? s.state : 'normal' });
      return go({ ...s, conditionActive: false });
    case 'ack':
      if (s.state === 'unacknowledged-active') return go({ ...s, state: 'acknowledged-active' });
      if (s.state === 'unacknowledged-returned') return go({ ...s, state: 'normal' });
      return refuse(s.state === 'acknowledged-active' ? 'the alarm is already acknowledged' : `an alarm in state ${s.state} cannot be acknowledged`);
    case 'reset':
      if (!s.latching) return refuse('only a latching alarm can be reset');
      if (s.state !== 'acknowledged-active') return refuse('a latching alarm is reset after it is acknowledged');
      if (s.conditionActive) return refuse('the condition is still present');
      return go({ ...s, state: 'normal' });
    case 'shelve':
      if (s.state === 'normal' || s.state === 'shelved' || s.state === 'out-of-service' || s.state === 'suppressed-by-design')
        return refuse(`an alarm in state ${s.state} cannot be shelved`);
      return go({ ...s, state: 'shelved' });
    case 'unshelve':
      if (s.state !== 'shelved') return refuse('the alarm is not shelved');
      return go(reevaluate(s));
    case 'suppress':
      if (s.state === 'out-of-service' || s.state === 'suppressed-by-design') return go(s);
      return go({ ...s, state: 'suppressed-by-design' });
    case 'unsuppress':
      if (s.state !== 'suppressed-by-design') return go(s);
      return go(reevaluate(s));
    case 'remove-from-service':
      return go({ ...s, state: 'out-of-service' });
    case 'return-to-service':
      if (s.state !== 'out-of-service') return refuse('the alarm is in service');
      return go(reevaluate(s));
  }
}

/** An occurrence is over when it is back in normal: the next activation opens a new one. */
export function isAlarmClosed(state: AlarmState): boolean {
  return state === 'normal';
}
