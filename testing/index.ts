/** Support for tests and benchmarks (`vigil bench`): free ports, temporary dirs, outside programs; no service imports it. */
import { createServer } from 'node:net';
import { createSocket } from 'node:dgram';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A free TCP port on 127.0.0.1, below the ephemeral range (see pickPort). modbus-serial and
 * @bacnet-js/client treat port 0 as "the default port", so tests pick real ones.
 */
export async function freePort(): Promise<number> {
  return pickPort((port) =>
    new Promise((resolve) => {
      const server = createServer();
      server.unref();
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
    }),
  );
}

/** A free UDP port on 127.0.0.1 (BACnet/IP). */
export async function freeUdpPort(): Promise<number> {
  return pickPort((port) =>
    new Promise((resolve) => {
      const socket = createSocket('udp4');
      socket.once('error', () => resolve(false));
      socket.bind(port, '127.0.0.1', () => socket.close(() => resolve(true)));
    }),
  );
}

/**
 * A random port below Linux's ephemeral range (32768–60999) that binds now. Port 0 would hand out
 * an ephemeral port, which the kernel may give to some test's outgoing connection before the test
 * listens on it (seen as EADDRINUSE under the full suite).
 */
async function pickPort(bindable: (port: number) => Promise<boolean>): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    if (await bindable(port)) return port;
  }
  throw new Error('no free port between 20000 and 32000 after 200 tries');
}

/** Whether `VIGIL_REQUIRE_PEERS=1`: CI installed every outside program, so a missing one is a failure. */
export const peersRequired = process.env.VIGIL_REQUIRE_PEERS === '1';

/** The absolute path of an outside program, or null. */
export function which(program: string): string | null {
  if (program.startsWith('/')) return existsSync(program) ? program : null;
  try {
    return execFileSync('sh', ['-c', `command -v ${program}`], { encoding: 'utf8' }).trim() || null;
  } catch {
    return null;
  }
}

/**
 * For `describe.skipIf(!peer(...).ok)`: finds an outside program (Mosquitto, mbpoll, Chromium …).
 * Missing and not required: skipped with a one-line reason. Missing and required: it throws, so the
 * suite fails loudly instead of silently skipping.
 */
export function peer(program: string, debianPackage: string): { ok: boolean; path: string } {
  const path = which(program);
  if (path) return { ok: true, path };
  const reason = `${program} not found (Debian package ${debianPackage})`;
  if (peersRequired) throw new Error(`VIGIL_REQUIRE_PEERS=1 but ${reason}`);
  console.warn(`skipped: ${reason}`);
  return { ok: false, path: '' };
}

/** A fresh temporary directory, removed by the returned function. */
export function tempDir(prefix = 'vigil-test-'): { path: string; remove: () => void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** Polls `check` until it returns a truthy value or the time runs out. */
export async function eventually<T>(check: () => T | Promise<T>, timeoutMs = 5000, everyMs = 50): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value as NonNullable<T>;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Moves every device of a site that listens (Modbus TCP, BACnet/IP) to free ports on loopback. */
export async function useFreePorts(site: { devices: Array<{ protocol: string; port?: number }> }): Promise<void> {
  for (const device of site.devices) {
    if (device.protocol === 'modbus-tcp') device.port = await freePort();
    else if (device.protocol === 'bacnet-ip') device.port = await freeUdpPort();
  }
}

/** The port of a device that has one (tests only). */
export function portOf(device: { id: string; port?: number } | undefined): number {
  if (!device || device.port === undefined) throw new Error(`device ${device?.id ?? '(none)'} has no port`);
  return device.port;
}
