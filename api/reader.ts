/**
 * What the API reads from ingest's state store. Ingest owns alarms, tickets and samples
 * (DESIGN.md, "Ownership of state"); the API only reads them, through ingest's public entry.
 */
export type { StateReader, StoredSample } from '@vigil/ingest';
