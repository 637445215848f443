/** @vigil/ingest: bus consumer, time-series stores, detectors, alarm and ticket engines, state store, backup. */
export { openStateReader, type StateReader } from './reader.ts';
export {
  DEFAULT_RETENTION,
  HISTORY_LIMIT,
  MAX_BUCKETS,
  type History,
  type HistoryOptions,
  type Resolution,
  type Retention,
  type RollupBucket,
  type StoredSample,
  type TimeSeriesHealth,
  type TimeSeriesStore,
} from './timeseries.ts';
export { SqliteTimeSeriesStore, type SqliteTimeSeriesOptions } from './sqlite-timeseries.ts';
export { InfluxTimeSeriesStore, InfluxWriteError, INFLUX_MEASUREMENT, type InfluxOptions } from './influx-timeseries.ts';
export { benchmarkStore, type StoreBenchmark } from './benchmark.ts';
export { backupDatabases, restoreDatabases, BackupError, type BackupSummary } from './backup.ts';
export { DataDirLockedError } from './data-dir-lock.ts';
export type { AlarmTransitionRecord, TicketHistoryRecord } from './state-store.ts';
export { SchemaTooNewError } from './sqlite.ts';
export { startIngest, influxOptionsFromEnv, type IngestOptions, type IngestHealth, type RunningIngest } from './ingest.ts';
