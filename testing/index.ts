/** Support for tests and benchmarks (`vigil bench`): free ports, temporary dirs, outside programs; no service imports it. */
import { createServer } from 'node:net';
import { createSocket } from 'node:dgram';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A free TCP port on 127.0.0.1: bind port 0, read it, release it. modbus-serial and
 * @bacnet-js/client treat port 0 as "the default port", so tests pick real ones.
 */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** A free UDP port on 127.0.0.1 (BACnet/IP). */
export async function freeUdpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = createSocket('udp4');
    socket.on('error', reject);
    socket.bind(0, '127.0.0.1', () => {
      const { port } = socket.address();
      socket.close(() => resolve(port));
    });
  });
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
