/** Test support for the API's tests: a real broker on loopback, a built API and helpers (never imported by production code). */
import mqtt, { type MqttClient } from 'mqtt';
import { pino } from 'pino';
import { DEMO_SITE_FILE, loadSiteFile, type Alarm, type AlarmState, type Site, type Ticket } from '@vigil/model';
import { freePort, tempDir } from '../testing/index.ts';
import { startTestBroker } from '../testing/broker.ts';
import type { StateReader, StoredSample } from './reader.ts';

export const silent = pino({ level: 'silent' });
export const demoSite: Site = loadSiteFile(DEMO_SITE_FILE);
export const SECRET = 'test-secret-0123456789abcdef';

/** An embedded aedes broker on a free loopback port. */
export async function startBroker(): Promise<{ url: string; close(): Promise<void> }> {
  const broker = await startTestBroker();
  return { url: broker.url, close: () => broker.stop() };
}

export async function busClient(url: string): Promise<MqttClient> {
  return mqtt.connectAsync(url, { clientId: `api-test-${Math.random().toString(16).slice(2)}`, reconnectPeriod: 0 });
}

/**
 * A StateReader over arrays, standing in for ingest's store where a route needs records to exist
 * (ingest is the only writer of alarms and tickets, and the API tests do not run ingest).
 */
export function memoryReader(data: { alarms?: Alarm[]; tickets?: Ticket[]; samples?: StoredSample[] } = {}): StateReader {
  const alarms = data.alarms ?? [];
  const tickets = data.tickets ?? [];
  const samples = data.samples ?? [];
  return {
    alarms: (filter) => alarms.filter((a) => !filter?.states || (filter.states as readonly AlarmState[]).includes(a.state)).map((a) => ({ ...a })),
    alarm: (id) => alarms.find((a) => a.id === id),
    alarmHistory: () => [],
    tickets: (filter) =>
      tickets.filter(
        (t) =>
          (!filter?.department || t.department === filter.department) &&
          (!filter?.statuses || filter.statuses.includes(t.status)) &&
          (!filter?.assignee || t.assignee === filter.assignee),
      ),
    ticket: (id) => tickets.find((t) => t.id === id || t.number === id),
    ticketHistory: () => [],
    latest: (point) => samples.filter((s) => s.point === point).sort((a, b) => b.ts - a.ts)[0],
    // Raw samples only: rollups are ingest's (and tested there).
    history: async (point, from, to, opts) => ({
      point,
      resolution: 'raw',
      samples: samples
        .filter((s) => s.point === point && s.ts >= from && s.ts <= to)
        .sort((a, b) => a.ts - b.ts)
        .slice(0, opts?.buckets ?? opts?.limit ?? 1000),
    }),
    close: () => {},
  };
}

export function alarm(overrides: Partial<Alarm> & { id: string }): Alarm {
  return {
    site: 'demo',
    key: 'low-discharge-pressure-1:pump-b1-1.discharge_pressure',
    detector: 'low-discharge-pressure-1',
    asset: 'pump-b1-1',
    point: 'pump-b1-1.discharge_pressure',
    area: 'tower',
    state: 'unacknowledged-active',
    conditionActive: true,
    latching: false,
    priority: 2,
    department: 'technical',
    category: 'pump-low-pressure',
    message: 'Booster pump 1 discharge pressure low',
    explanation: { rule: 'value < 0.6 for 3 s', values: [{ ts: 1_700_000_000_000, value: 0.41 }], limit: 0.6 },
    raisedAt: 1_700_000_000_000,
    changedAt: 1_700_000_000_000,
    ...overrides,
  };
}

export function ticket(overrides: Partial<Ticket> & { id: string }): Ticket {
  return {
    number: 'T-000001',
    site: 'demo',
    department: 'technical',
    category: 'pump-low-pressure',
    priority: 2,
    status: 'assigned',
    asset: 'pump-b1-1',
    condition: 'low-discharge-pressure-1',
    title: 'Booster pump 1 discharge pressure low',
    assignee: 'technician',
    count: 1,
    alarmIds: ['a-1'],
    responseDue: 1_700_000_300_000,
    resolveDue: 1_700_014_400_000,
    createdAt: 1_700_000_000_000,
    updatedAt: 1_700_000_000_000,
    ...overrides,
  };
}

export { freePort, tempDir };
