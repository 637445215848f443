/** @vigil/ingest: bus consumer, time-series store, detectors, alarm and ticket engines, state store. */
export { openStateReader, type StateReader } from './reader.ts';
export type { StoredSample, TimeSeriesStore } from './timeseries.ts';
export { SqliteTimeSeriesStore } from './timeseries.ts';
export type { AlarmTransitionRecord, TicketHistoryRecord } from './state-store.ts';
export { SchemaTooNewError } from './sqlite.ts';
export { startIngest, type IngestOptions, type IngestHealth, type RunningIngest } from './ingest.ts';
