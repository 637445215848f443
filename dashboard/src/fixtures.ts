/** Records for unit tests (never imported by the app): valid defaults, overridden per test. */
import type { Alarm, Ticket } from './model.ts';

export function anAlarm(overrides: Partial<Alarm> & { id: string }): Alarm {
  return {
    site: 'demo',
    key: `high:${overrides.id}`,
    detector: 'high',
    asset: 'pump-b1-1',
    area: 'b1',
    state: 'unacknowledged-active',
    conditionActive: true,
    latching: false,
    priority: 3,
    department: 'technical',
    category: 'pressure',
    message: overrides.id,
    explanation: { rule: 'high limit', values: [] },
    raisedAt: 1000,
    changedAt: 1000,
    ...overrides,
  };
}

export function aTicket(overrides: Partial<Ticket> & { id: string }): Ticket {
  return {
    number: `T-${overrides.id}`,
    site: 'demo',
    department: 'technical',
    category: 'pump',
    priority: 3,
    status: 'assigned',
    asset: 'pump-b1-1',
    condition: 'pump-b1-1:cavitation',
    title: 'Pump cavitation',
    assignee: 'tech1',
    count: 1,
    alarmIds: [],
    responseDue: 10_000,
    resolveDue: 20_000,
    createdAt: 1000,
    updatedAt: 1000,
    ...overrides,
  };
}
