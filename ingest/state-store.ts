/**
 * The state store: alarms, their transitions, tickets, their history, the committed `seq` per
 * (gateway, device) and the ticket number sequence. Ingest is its only writer (DESIGN.md, "Ownership
 * of state"); the API reads it through `openStateReader`.
 */
import { join } from 'node:path';
import type { Alarm, AlarmState, AssetMode, Department, DeviceEvent, Ticket, TicketStatus } from '@vigil/model';
import { OPEN_TICKET_STATUSES } from '@vigil/model';
import { openDatabase, type Database, type Migration, type Statement } from './sqlite.ts';

export const STATE_FILE = 'state.sqlite';

/** One stored alarm transition (ISA-18.2: every transition is recorded with who, when and why). */
export interface AlarmTransitionRecord {
  alarmId: string;
  ts: number;
  from: AlarmState;
  to: AlarmState;
  event: string;
  user?: string;
  reason?: string;
}

export interface TicketHistoryRecord {
  ticketId: string;
  ts: number;
  from: TicketStatus | null;
  to: TicketStatus;
  event: string;
  user?: string;
  reason?: string;
  assignee?: string;
}

export const STATE_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'alarms, tickets, their histories, delivery sequence numbers, ticket numbers',
    // Records are kept whole as JSON (the model's shape), with the columns queries filter and sort on.
    sql: `
      CREATE TABLE alarms (
        id         TEXT    PRIMARY KEY,
        key        TEXT    NOT NULL,
        state      TEXT    NOT NULL,
        raised_at  INTEGER NOT NULL,
        changed_at INTEGER NOT NULL,
        record     TEXT    NOT NULL
      );
      CREATE INDEX alarms_by_state ON alarms (state);
      CREATE INDEX alarms_by_raised ON alarms (raised_at);
      CREATE TABLE alarm_transitions (
        id         INTEGER PRIMARY KEY AUTOINCREMENT,
        alarm_id   TEXT    NOT NULL REFERENCES alarms (id),
        ts         INTEGER NOT NULL,
        from_state TEXT    NOT NULL,
        to_state   TEXT    NOT NULL,
        event      TEXT    NOT NULL,
        user       TEXT,
        reason     TEXT
      );
      CREATE INDEX alarm_transitions_by_alarm ON alarm_transitions (alarm_id, id);
      CREATE TABLE tickets (
        id         TEXT    PRIMARY KEY,
        number     TEXT    NOT NULL UNIQUE,
        department TEXT    NOT NULL,
        status     TEXT    NOT NULL,
        condition  TEXT    NOT NULL,
        assignee   TEXT,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        record     TEXT    NOT NULL
      );
      CREATE INDEX tickets_by_condition ON tickets (condition, status);
      CREATE INDEX tickets_by_assignee ON tickets (assignee, status);
      CREATE TABLE ticket_history (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        ticket_id   TEXT    NOT NULL REFERENCES tickets (id),
        ts          INTEGER NOT NULL,
        from_status TEXT,
        to_status   TEXT    NOT NULL,
        event       TEXT    NOT NULL,
        user        TEXT,
        reason      TEXT,
        assignee    TEXT
      );
      CREATE INDEX ticket_history_by_ticket ON ticket_history (ticket_id, id);
      CREATE TABLE delivery (
        gateway TEXT    NOT NULL,
        device  TEXT    NOT NULL,
        seq     INTEGER NOT NULL,
        PRIMARY KEY (gateway, device)
      ) WITHOUT ROWID;
      CREATE TABLE sequences (
        name  TEXT    PRIMARY KEY,
        value INTEGER NOT NULL
      ) WITHOUT ROWID;
    `,
  },
  {
    version: 2,
    description: 'asset modes (maintenance, out of service) and device events',
    sql: `
      CREATE TABLE asset_modes (
        asset  TEXT PRIMARY KEY,
        record TEXT NOT NULL
      ) WITHOUT ROWID;
      CREATE TABLE device_events (
        id      INTEGER PRIMARY KEY AUTOINCREMENT,
        gateway TEXT    NOT NULL,
        device  TEXT    NOT NULL,
        seq     INTEGER NOT NULL,
        asset   TEXT,
        point   TEXT,
        ts      INTEGER NOT NULL,
        type    TEXT    NOT NULL,
        data    TEXT
      );
      CREATE INDEX device_events_by_ts ON device_events (ts);
      CREATE INDEX device_events_by_asset ON device_events (asset, ts);
    `,
  },
];

interface RecordRow {
  record: string;
}

interface TransitionRow {
  alarm_id: string;
  ts: number;
  from_state: AlarmState;
  to_state: AlarmState;
  event: string;
  user: string | null;
  reason: string | null;
}

interface HistoryRow {
  ticket_id: string;
  ts: number;
  from_status: TicketStatus | null;
  to_status: TicketStatus;
  event: string;
  user: string | null;
  reason: string | null;
  assignee: string | null;
}

const placeholders = (n: number) => Array.from({ length: n }, () => '?').join(', ');

/** Read queries shared by the writer (ingest) and the API's read-only reader. */
class StateQueries {
  readonly #alarm: Statement<RecordRow>;
  readonly #alarmHistory: Statement<TransitionRow>;
  readonly #ticket: Statement<RecordRow>;
  readonly #ticketHistory: Statement<HistoryRow>;

  constructor(protected readonly db: Database) {
    this.#alarm = db.prepare<RecordRow>('SELECT record FROM alarms WHERE id = ?');
    this.#alarmHistory = db.prepare<TransitionRow>(
      'SELECT alarm_id, ts, from_state, to_state, event, user, reason FROM alarm_transitions WHERE alarm_id = ? ORDER BY id',
    );
    this.#ticket = db.prepare<RecordRow>('SELECT record FROM tickets WHERE id = ? OR number = ?');
    this.#ticketHistory = db.prepare<HistoryRow>(
      'SELECT ticket_id, ts, from_status, to_status, event, user, reason, assignee FROM ticket_history WHERE ticket_id = ? ORDER BY id',
    );
  }

  /** Newest first. */
  alarms(filter: { states?: readonly AlarmState[] } = {}): Alarm[] {
    const where: string[] = [];
    const params: unknown[] = [];
    if (filter.states) {
      if (filter.states.length === 0) return [];
      where.push(`state IN (${placeholders(filter.states.length)})`);
      params.push(...filter.states);
    }
    const sql = `SELECT record FROM alarms ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY raised_at DESC, rowid DESC`;
    return this.db
      .prepare<RecordRow>(sql)
      .all(...params)
      .map((r) => JSON.parse(r.record) as Alarm);
  }

  alarm(id: string): Alarm | undefined {
    const row = this.#alarm.get(id);
    return row ? (JSON.parse(row.record) as Alarm) : undefined;
  }

  /** Oldest first. */
  alarmHistory(id: string): AlarmTransitionRecord[] {
    return this.#alarmHistory.all(id).map((r) => {
      const out: AlarmTransitionRecord = { alarmId: r.alarm_id, ts: r.ts, from: r.from_state, to: r.to_state, event: r.event };
      if (r.user !== null) out.user = r.user;
      if (r.reason !== null) out.reason = r.reason;
      return out;
    });
  }

  /** Assets in maintenance or out of service (and those switched back, with who and when). */
  assetModes(): AssetMode[] {
    return this.db
      .prepare<RecordRow>('SELECT record FROM asset_modes ORDER BY asset')
      .all()
      .map((r) => JSON.parse(r.record) as AssetMode);
  }

  /** Device events, oldest first, optionally of one asset. */
  deviceEvents(filter: { asset?: string; from?: number; to?: number; limit?: number } = {}): Array<DeviceEvent & { device: string }> {
    const rows = this.db
      .prepare<{ device: string; asset: string | null; point: string | null; ts: number; type: string; data: string | null }>(
        `SELECT device, asset, point, ts, type, data FROM device_events WHERE ts BETWEEN ? AND ? ${filter.asset ? 'AND asset = ?' : ''} ORDER BY ts, id LIMIT ?`,
      )
      .all(filter.from ?? 0, filter.to ?? Number.MAX_SAFE_INTEGER, ...(filter.asset ? [filter.asset] : []), filter.limit ?? 10_000);
    return rows.map((r) => {
      const e: DeviceEvent & { device: string } = { device: r.device, ts: r.ts, type: r.type };
      if (r.asset !== null) e.asset = r.asset;
      if (r.point !== null) e.point = r.point;
      if (r.data !== null) e.data = JSON.parse(r.data) as NonNullable<DeviceEvent['data']>;
      return e;
    });
  }

  /** Newest first. */
  tickets(filter: { department?: Department; statuses?: readonly TicketStatus[]; assignee?: string } = {}): Ticket[] {
    const where: string[] = [];
    const params: unknown[] = [];
    if (filter.department !== undefined) {
      where.push('department = ?');
      params.push(filter.department);
    }
    if (filter.statuses) {
      if (filter.statuses.length === 0) return [];
      where.push(`status IN (${placeholders(filter.statuses.length)})`);
      params.push(...filter.statuses);
    }
    if (filter.assignee !== undefined) {
      where.push('assignee = ?');
      params.push(filter.assignee);
    }
    const sql = `SELECT record FROM tickets ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at DESC, rowid DESC`;
    return this.db
      .prepare<RecordRow>(sql)
      .all(...params)
      .map((r) => JSON.parse(r.record) as Ticket);
  }

  /** By id or by number (`T-000042`). */
  ticket(id: string): Ticket | undefined {
    const row = this.#ticket.get(id, id);
    return row ? (JSON.parse(row.record) as Ticket) : undefined;
  }

  /** Oldest first. */
  ticketHistory(id: string): TicketHistoryRecord[] {
    return this.#ticketHistory.all(id).map((r) => {
      const out: TicketHistoryRecord = { ticketId: r.ticket_id, ts: r.ts, from: r.from_status, to: r.to_status, event: r.event };
      if (r.user !== null) out.user = r.user;
      if (r.reason !== null) out.reason = r.reason;
      if (r.assignee !== null) out.assignee = r.assignee;
      return out;
    });
  }
}

/** Read-only access for the API: the connection runs with `query_only`, so a bug cannot write. */
export class SqliteStateReader extends StateQueries {
  static open(dataDir: string): SqliteStateReader {
    return new SqliteStateReader(openDatabase(join(dataDir, STATE_FILE), STATE_MIGRATIONS, { queryOnly: true }));
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}

/** Ingest's writer. Callers group writes with `transaction` so a batch's effects commit together. */
export class SqliteStateStore extends StateQueries {
  readonly #committedSeq: Statement<{ seq: number }>;
  readonly #committedSeqs: Statement<{ device: string; seq: number }>;
  readonly #setSeq: Statement;
  readonly #saveAlarm: Statement;
  readonly #addTransition: Statement;
  readonly #saveTicket: Statement;
  readonly #addHistory: Statement;
  readonly #nextNumber: Statement<{ value: number }>;
  readonly #openTicket: Statement<RecordRow>;
  readonly #openCounts: Statement<{ assignee: string; n: number }>;
  readonly #unfinished: Statement<RecordRow>;
  readonly #saveAssetMode: Statement;
  readonly #addEvent: Statement;

  static open(dataDir: string): SqliteStateStore {
    return new SqliteStateStore(openDatabase(join(dataDir, STATE_FILE), STATE_MIGRATIONS));
  }

  private constructor(db: Database) {
    super(db);
    this.#committedSeq = db.prepare('SELECT seq FROM delivery WHERE gateway = ? AND device = ?');
    this.#committedSeqs = db.prepare('SELECT device, seq FROM delivery WHERE gateway = ? ORDER BY device');
    this.#setSeq = db.prepare(
      'INSERT INTO delivery (gateway, device, seq) VALUES (?, ?, ?) ON CONFLICT (gateway, device) DO UPDATE SET seq = max(seq, excluded.seq)',
    );
    this.#saveAlarm = db.prepare(`
      INSERT INTO alarms (id, key, state, raised_at, changed_at, record) VALUES (?, ?, ?, ?, ?, ?)
      ON CONFLICT (id) DO UPDATE SET state = excluded.state, changed_at = excluded.changed_at, record = excluded.record`);
    this.#addTransition = db.prepare(
      'INSERT INTO alarm_transitions (alarm_id, ts, from_state, to_state, event, user, reason) VALUES (?, ?, ?, ?, ?, ?, ?)',
    );
    this.#saveTicket = db.prepare(`
      INSERT INTO tickets (id, number, department, status, condition, assignee, created_at, updated_at, record) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT (id) DO UPDATE SET status = excluded.status, assignee = excluded.assignee, updated_at = excluded.updated_at, record = excluded.record`);
    this.#addHistory = db.prepare(
      'INSERT INTO ticket_history (ticket_id, ts, from_status, to_status, event, user, reason, assignee) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    );
    this.#nextNumber = db.prepare(
      "INSERT INTO sequences (name, value) VALUES ('ticket', 1) ON CONFLICT (name) DO UPDATE SET value = value + 1 RETURNING value",
    );
    const open = placeholders(OPEN_TICKET_STATUSES.length);
    this.#openTicket = db.prepare(`SELECT record FROM tickets WHERE condition = ? AND status IN (${open}) ORDER BY created_at DESC LIMIT 1`);
    this.#openCounts = db.prepare(`SELECT assignee, count(*) AS n FROM tickets WHERE assignee IS NOT NULL AND status IN (${open}) GROUP BY assignee`);
    this.#unfinished = db.prepare("SELECT record FROM alarms WHERE state <> 'normal'");
    this.#saveAssetMode = db.prepare('INSERT INTO asset_modes (asset, record) VALUES (?, ?) ON CONFLICT (asset) DO UPDATE SET record = excluded.record');
    this.#addEvent = db.prepare('INSERT INTO device_events (gateway, device, seq, asset, point, ts, type, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
  }

  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate();
  }

  committedSeq(gateway: string, device: string): number {
    return this.#committedSeq.get(gateway, device)?.seq ?? 0;
  }

  /** `{ device: highest committed seq }` of one gateway: the ack payload. */
  committedSeqs(gateway: string): Record<string, number> {
    return Object.fromEntries(this.#committedSeqs.all(gateway).map((r) => [r.device, r.seq]));
  }

  commitSeq(gateway: string, device: string, seq: number): void {
    this.#setSeq.run(gateway, device, seq);
  }

  saveAlarm(alarm: Alarm): void {
    this.#saveAlarm.run(alarm.id, alarm.key, alarm.state, alarm.raisedAt, alarm.changedAt, JSON.stringify(alarm));
  }

  addAlarmTransition(r: AlarmTransitionRecord): void {
    this.#addTransition.run(r.alarmId, r.ts, r.from, r.to, r.event, r.user ?? null, r.reason ?? null);
  }

  /** Occurrences not yet back in normal: the alarm engine's open set after a restart. */
  unfinishedAlarms(): Alarm[] {
    return this.#unfinished.all().map((r) => JSON.parse(r.record) as Alarm);
  }

  saveAssetMode(m: AssetMode): void {
    this.#saveAssetMode.run(m.asset, JSON.stringify(m));
  }

  /** A device's event batch; the caller commits its seq in the same transaction. */
  addDeviceEvents(gateway: string, device: string, seq: number, events: readonly DeviceEvent[], assetOf: (e: DeviceEvent) => string | undefined): void {
    for (const e of events) this.#addEvent.run(gateway, device, seq, assetOf(e) ?? null, e.point ?? null, e.ts, e.type, e.data ? JSON.stringify(e.data) : null);
  }

  saveTicket(t: Ticket): void {
    this.#saveTicket.run(t.id, t.number, t.department, t.status, t.condition, t.assignee ?? null, t.createdAt, t.updatedAt, JSON.stringify(t));
  }

  addTicketHistory(r: TicketHistoryRecord): void {
    this.#addHistory.run(r.ticketId, r.ts, r.from, r.to, r.event, r.user ?? null, r.reason ?? null, r.assignee ?? null);
  }

  /** `T-000001`, `T-000002` …: taken inside the caller's transaction, so a rolled-back ticket leaves no gap. */
  nextTicketNumber(): string {
    const value = this.#nextNumber.get()!.value;
    return `T-${String(value).padStart(6, '0')}`;
  }

  openTicketFor(condition: string): Ticket | undefined {
    const row = this.#openTicket.get(condition, ...OPEN_TICKET_STATUSES);
    return row ? (JSON.parse(row.record) as Ticket) : undefined;
  }

  /** Open tickets per assignee: the load the router balances. */
  openTicketCounts(): Map<string, number> {
    return new Map(this.#openCounts.all(...OPEN_TICKET_STATUSES).map((r) => [r.assignee, r.n]));
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
