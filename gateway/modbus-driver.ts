/**
 * Polls one Modbus TCP device as the site file describes it. modbus-serial neither times out by
 * default nor reconnects, so this driver owns both (LIBRARIES.md, "Modbus").
 */
import { setTimeout as sleep } from 'node:timers/promises';
import modbusSerial from 'modbus-serial';
import type { Logger } from 'pino';
import type { ModbusDevice, Sample } from '@vigil/model';
import type { DeviceState, Driver, DriverSink } from './driver.ts';
import { badRead, decodePoint, decodeRead, encodePoint, planPolls, pointWidth, splitRead, type ModbusRead, type PollPlan } from './poll-plan.ts';

export interface Backoff {
  firstMs: number;
  maxMs: number;
}

export interface ModbusDriverOptions {
  device: ModbusDevice;
  log: Logger;
  /** Reconnect delay: doubles from `firstMs` up to `maxMs` while the device stays unreachable. */
  backoff?: Backoff;
  /**
   * Where in the cycle this device polls, ms after connecting. The gateway spreads its devices over
   * the cycle, so a hundred devices do not all poll (and allocate, and publish) in the same moment.
   */
  phaseMs?: number;
}

// modbus-serial is CommonJS: its typings see the class on `.default`, which it also sets at run time.
const ModbusRTU = modbusSerial.default;
type ModbusClient = InstanceType<typeof ModbusRTU>;

/** Exception 2, "illegal data address": the device has no register somewhere in a merged read. */
const ILLEGAL_DATA_ADDRESS = 2;

/** The first retry of a timed-out read waits this long; each further retry twice as long. */
const RETRY_FIRST_MS = 100;

/** One read's result within a cycle: the registers or bits it returned, or its points' bad samples. */
type ReadOutcome = { read: ModbusRead; data: readonly number[] | readonly boolean[] } | { samples: Sample[] };

type Failure = { kind: 'timeout' } | { kind: 'exception'; code: number | null; message: string } | { kind: 'comm-lost'; message: string };

function classify(err: unknown): Failure {
  const e = err as { name?: string; errno?: string; modbusCode?: number; message?: string } | null;
  const message = e?.message ?? String(err);
  if (e?.name === 'TransactionTimedOutError' || e?.errno === 'ETIMEDOUT') return { kind: 'timeout' };
  if (typeof e?.modbusCode === 'number') return { kind: 'exception', code: e.modbusCode, message };
  if (e?.name === 'PortNotOpenError' || e?.errno === 'ECONNREFUSED' || e?.errno === 'ECONNRESET' || e?.errno === 'EPIPE') return { kind: 'comm-lost', message };
  // A malformed reply (bad length, CRC): the device answered, but not usefully.
  return { kind: 'exception', code: null, message };
}

export class ModbusDriver implements Driver {
  readonly device: string;
  private readonly config: ModbusDevice;
  private readonly log: Logger;
  private readonly backoff: Backoff;
  private readonly maxInFlight: number;
  private readonly phaseMs: number;
  private plan: PollPlan;
  /** Set when a read of this cycle used up its retries: the device is not answering, the rest of the cycle tries once. */
  private cycleTimedOut = false;
  private client: ModbusClient | null = null;
  private connected = false;
  private commState: DeviceState | null = null;
  private readonly stopping = new AbortController();
  private loop: Promise<void> | null = null;
  private sink: DriverSink | null = null;

  constructor(opts: ModbusDriverOptions) {
    this.config = opts.device;
    this.device = opts.device.id;
    this.log = opts.log.child({ device: opts.device.id });
    this.backoff = opts.backoff ?? { firstMs: 1000, maxMs: 30_000 };
    this.phaseMs = Math.max(0, opts.phaseMs ?? 0);
    // modbus-serial numbers transactions modulo 256: more in flight would reuse an id still waiting.
    this.maxInFlight = Math.max(1, Math.min(255, opts.device.maxRequestsInFlight));
    this.plan = planPolls(opts.device.points, { maxGapRegisters: opts.device.maxGapRegisters, maxGapBits: opts.device.maxGapBits });
  }

  start(sink: DriverSink): void {
    if (this.loop) return;
    this.sink = sink;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    // The loop ends after the read in flight (bounded by the device's timeout): destroying the
    // client first would cancel that read's timer and leave it pending for ever.
    await this.loop;
    this.disconnect();
  }

  private get stopped(): boolean {
    return this.stopping.signal.aborted;
  }

  private async run(): Promise<void> {
    let delay = this.backoff.firstMs;
    const interval = this.config.pollIntervalMs;
    // Cycles start on a fixed grid (due, due + interval …), so timer lateness never accumulates into
    // a slower cycle; a cycle that overruns its slot skips the slots it missed, never overlaps.
    let due = Date.now();
    while (!this.stopped) {
      try {
        if (!this.connected) {
          if (!(await this.connect())) {
            this.lost();
            await this.pause(delay);
            delay = Math.min(delay * 2, this.backoff.maxMs);
            continue;
          }
          delay = this.backoff.firstMs;
          due = Date.now() + this.phaseMs;
          await this.pause(this.phaseMs);
          if (this.stopped) break;
        }
        const started = Date.now();
        await this.pollOnce(started);
        due += interval;
        const now = Date.now();
        if (due <= now) due += Math.ceil((now - due + 1) / interval) * interval;
        await this.pause(due - now);
      } catch (err) {
        // A bug here must not stop polling for good.
        this.log.error({ err }, 'poll loop failed');
        await this.pause(delay);
      }
    }
  }

  private async pause(ms: number): Promise<void> {
    if (ms <= 0 || this.stopped) return;
    try {
      await sleep(ms, undefined, { signal: this.stopping.signal });
    } catch {
      // aborted by stop()
    }
  }

  private async connect(): Promise<boolean> {
    this.disconnect();
    const client = new ModbusRTU();
    this.client = client;
    // An 'error' without a listener would take the process down.
    client.on('error', (err: unknown) => this.log.debug({ err }, 'modbus socket error'));
    client.on('close', () => {
      if (this.client !== client) return;
      this.connected = false;
      if (!this.stopped) this.lost();
    });
    try {
      // `timeout` bounds the TCP connect too: a silent host would otherwise hang it.
      await client.connectTCP(this.config.host, { port: this.config.port, timeout: this.config.timeoutMs });
      client.setID(this.config.unit);
      client.setTimeout(this.config.timeoutMs);
      this.connected = true;
      this.log.info({ host: this.config.host, port: this.config.port }, 'modbus connected');
      return true;
    } catch (err) {
      this.log.debug({ err: (err as Error)?.message }, 'modbus connect failed');
      this.disconnect();
      return false;
    }
  }

  private disconnect(): void {
    const client = this.client;
    this.client = null;
    this.connected = false;
    if (client) client.destroy(() => undefined);
  }

  /**
   * Writes a command point (a coil with FC 5, registers with FC 16), then reads it back: the value
   * the device holds afterwards is what it answers with, and a device that silently ignores or clamps
   * the write is caught here rather than believed.
   */
  async write(pointId: string, value: number | boolean): Promise<number | boolean> {
    const point = this.config.points.find((p) => p.id === pointId);
    if (!point) throw new Error(`no point '${pointId}' on device '${this.device}'`);
    const encoded = encodePoint(point, value);
    if (!encoded.ok) throw new Error(`cannot write ${pointId}: ${encoded.reason}`);
    const client = this.client;
    if (!client || !this.connected) throw new Error(`device '${this.device}' is not connected`);
    const { address } = point.modbus;
    if ('bit' in encoded) await client.writeCoil(address, encoded.bit);
    else await client.writeRegisters(address, encoded.words);
    const data = await this.read(client, { table: point.modbus.table, start: address, count: pointWidth(point), points: [{ point, offset: 0 }] });
    const readBack = decodePoint(point, data, 0);
    if (!readBack.ok) throw new Error(`wrote ${pointId} but its read-back failed: ${readBack.reason}`);
    const wanted = typeof readBack.value === 'boolean' ? value === true || value === 1 : Number(value);
    // Integer registers hold the value to half a raw step; a float32 to its ~7 significant digits.
    const tolerance = point.modbus.type === 'float32' ? 1e-6 * Math.max(1, Math.abs(Number(value))) : Math.abs(point.scale) / 2 + 1e-9;
    const same = typeof readBack.value === 'number' ? Math.abs(readBack.value - (wanted as number)) <= tolerance : readBack.value === wanted;
    if (!same) throw new Error(`wrote ${pointId} = ${value} but the device reads back ${readBack.value}`);
    this.log.info({ point: pointId, value, readBack: readBack.value }, 'command point written');
    return readBack.value;
  }

  private async read(client: ModbusClient, read: ModbusRead): Promise<readonly number[] | readonly boolean[]> {
    switch (read.table) {
      case 'coil':
        return (await client.readCoils(read.start, read.count)).data;
      case 'discrete':
        return (await client.readDiscreteInputs(read.start, read.count)).data;
      case 'holding':
        return (await client.readHoldingRegisters(read.start, read.count)).data;
      case 'input':
        return (await client.readInputRegisters(read.start, read.count)).data;
    }
  }

  private async pollOnce(ts: number): Promise<void> {
    const client = this.client;
    if (!client) return;
    let trouble: 'timeout' | 'exception' | null = null;
    const reads = this.plan.reads;
    this.cycleTimedOut = false;
    // Each read's outcome in its slot, so the cycle keeps plan order however replies interleave.
    const outcomes: ReadOutcome[][] = [];
    let next = 0;
    const lane = async () => {
      while (next < reads.length && !this.stopped && this.connected) {
        const i = next++;
        outcomes[i] = await this.readOutcomes(client, reads[i]!, ts, (kind) => (trouble ??= kind));
      }
    };
    // Up to `maxInFlight` requests on the connection at once; modbus-serial matches replies by MBAP transaction id.
    await Promise.all(Array.from({ length: Math.min(this.maxInFlight, reads.length) }, lane));
    if (this.stopped) return;
    if (!this.connected) {
      this.lost();
      return;
    }
    // Decoded only now, in one go: while the cycle waits for replies it holds the raw registers
    // (~1 KB a read), not a sample object per point, which would outlive V8's young generation.
    const samples: Sample[] = [];
    for (const slot of outcomes) for (const o of slot) for (const s of 'data' in o ? decodeRead(o.read, o.data, ts) : o.samples) samples.push(s);
    this.setState(trouble ? { state: 'degraded', reason: trouble, since: ts } : { state: 'online', since: ts });
    this.sink?.cycle({ device: this.device, ts, samples, kind: 'poll', durationMs: Date.now() - ts });
  }

  /** What one read brought: its raw data, or its points' bad samples; a merged read the device refuses is split. */
  private async readOutcomes(client: ModbusClient, read: ModbusRead, ts: number, troubled: (kind: 'timeout' | 'exception') => void): Promise<ReadOutcome[]> {
    try {
      return [{ read, data: await this.readWithRetries(client, read) }];
    } catch (err) {
      const failure = classify(err);
      // A socket that closed mid-read surfaces as a timeout: it is a lost connection.
      if (failure.kind === 'comm-lost' || !this.connected) {
        this.connected = false;
        return [];
      }
      if (failure.kind === 'exception' && failure.code === ILLEGAL_DATA_ADDRESS && read.points.length > 1) {
        // A merged read spans an address the device lacks: read its points one by one from now on.
        this.log.info({ table: read.table, start: read.start, count: read.count }, 'device refused a merged read; reading its points singly');
        const parts = splitRead(read);
        this.plan = { reads: this.plan.reads.flatMap((r) => (r === read ? parts : [r])) };
        const outcomes: ReadOutcome[] = [];
        for (const part of parts) {
          if (this.stopped || !this.connected) break;
          outcomes.push(...(await this.readOutcomes(client, part, ts, troubled)));
        }
        return outcomes;
      }
      if (failure.kind === 'exception') {
        this.log.warn({ table: read.table, start: read.start, count: read.count, code: failure.code, message: failure.message }, 'modbus exception');
      } else {
        this.log.debug({ table: read.table, start: read.start, count: read.count }, 'modbus read timed out');
      }
      troubled(failure.kind);
      this.sink?.error(this.device, failure.kind);
      return [{ samples: badRead(read, ts, failure.kind) }];
    }
  }

  /** A read, tried again after a timeout (`retries` times, backing off) unless the device already failed this cycle. */
  private async readWithRetries(client: ModbusClient, read: ModbusRead): Promise<readonly number[] | readonly boolean[]> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.read(client, read);
      } catch (err) {
        const timedOut = classify(err).kind === 'timeout';
        if (!timedOut || attempt >= this.config.retries || this.cycleTimedOut || this.stopped || !this.connected) {
          if (timedOut) this.cycleTimedOut = true;
          throw err;
        }
        this.log.debug({ table: read.table, start: read.start, count: read.count, attempt: attempt + 1 }, 'modbus read timed out; retrying');
        await this.pause(RETRY_FIRST_MS * 2 ** attempt);
      }
    }
  }

  /** The connection is gone (or never came): one comm-lost sample per point, on the transition only. */
  private lost(): void {
    if (this.commState?.state === 'offline') return;
    const ts = Date.now();
    this.log.warn({ host: this.config.host, port: this.config.port }, 'modbus communication lost');
    this.setState({ state: 'offline', reason: 'comm-lost', since: ts });
    this.sink?.error(this.device, 'comm-lost');
    const samples = this.config.points.map((p) => ({ point: p.id, ts, value: null, quality: 'bad' as const, reason: 'comm-lost' }));
    this.sink?.cycle({ device: this.device, ts, samples, kind: 'comm-lost' });
  }

  private setState(next: DeviceState): void {
    const prev = this.commState;
    if (prev && prev.state === next.state && prev.reason === next.reason) return;
    this.commState = next;
    this.sink?.state(this.device, next);
  }
}
