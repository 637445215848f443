/** The read side the API uses: alarms, tickets and samples, over read-only connections. */
import type { Alarm, AlarmState, Department, Ticket, TicketStatus } from '@vigil/model';
import { SqliteStateReader, type AlarmTransitionRecord, type TicketHistoryRecord } from './state-store.ts';
import { SqliteTimeSeriesStore } from './sqlite-timeseries.ts';
import { InfluxHistory, type InfluxOptions } from './influx-timeseries.ts';
import type { History, HistoryOptions, StoredSample } from './timeseries.ts';

export interface StateReader {
  /** Newest first. */
  alarms(filter?: { states?: readonly AlarmState[] }): Alarm[];
  alarm(id: string): Alarm | undefined;
  /** Oldest first. */
  alarmHistory(id: string): AlarmTransitionRecord[];
  /** Newest first. */
  tickets(filter?: { department?: Department; statuses?: readonly TicketStatus[]; assignee?: string }): Ticket[];
  /** By id or by number (`T-000001`). */
  ticket(id: string): Ticket | undefined;
  /** Oldest first. */
  ticketHistory(id: string): TicketHistoryRecord[];
  latest(point: string): StoredSample | undefined;
  /**
   * Samples with from ≤ ts ≤ to, oldest first: raw up to `limit` (default 10 000), or with `buckets`
   * raw or rollups, whichever fits (the answer names the resolution).
   */
  history(point: string, from: number, to: number, opts?: HistoryOptions): Promise<History>;
  close(): void;
}

/**
 * Opens both databases read-only; with `influx`, history is read from InfluxDB (the latest values
 * still come from the local table ingest keeps). It works before ingest ever ran (the API may start first): a
 * missing file is created and migrated, so queries answer empty. A database newer than this code
 * is refused with a SchemaTooNewError that names the file and both versions.
 */
export function openStateReader(dataDir: string, opts: { influx?: InfluxOptions } = {}): StateReader {
  const state = SqliteStateReader.open(dataDir);
  let series: SqliteTimeSeriesStore;
  try {
    series = SqliteTimeSeriesStore.open(dataDir, { readOnly: true });
  } catch (err) {
    state.close();
    throw err;
  }
  const influx = opts.influx ? new InfluxHistory(opts.influx) : undefined;
  return {
    alarms: (filter) => state.alarms(filter),
    alarm: (id) => state.alarm(id),
    alarmHistory: (id) => state.alarmHistory(id),
    tickets: (filter) => state.tickets(filter),
    ticket: (id) => state.ticket(id),
    ticketHistory: (id) => state.ticketHistory(id),
    latest: (point) => series.latestSync(point),
    history: async (point, from, to, historyOpts) => (influx ? influx.history(point, from, to, historyOpts) : series.historySync(point, from, to, historyOpts)),
    close() {
      state.close();
      series.closeSync();
    },
  };
}
