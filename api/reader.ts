/**
 * What the API reads from ingest's state store. Ingest owns alarms, tickets and samples
 * (DESIGN.md, "Ownership of state"); the API only reads them through this interface.
 * Declared here until '@vigil/ingest' exports the same `StateReader`.
 */
import type { Alarm, AlarmState, Department, Quality, Ticket, TicketStatus } from '@vigil/model';

export interface StoredSample {
  point: string;
  ts: number;
  value: number | boolean | string | null;
  quality: Quality;
  reason?: string;
}

export interface StateReader {
  alarms(filter?: { states?: readonly AlarmState[] }): Alarm[];
  alarm(id: string): Alarm | undefined;
  alarmHistory(id: string): { alarmId: string; ts: number; from: AlarmState; to: AlarmState; event: string; user?: string; reason?: string }[];
  tickets(filter?: { department?: Department; statuses?: readonly TicketStatus[]; assignee?: string }): Ticket[];
  ticket(id: string): Ticket | undefined;
  latest(point: string): StoredSample | undefined;
  history(point: string, from: number, to: number, limit?: number): StoredSample[];
  close(): void;
}
