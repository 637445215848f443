/**
 * tshark (Debian) dissects a capture of the demo building in normal operation — the gateway polling
 * every Modbus TCP simulator, the MQTT bus carrying telemetry, vendor-bridge events, commands and
 * fault control, faults injected and cleared — and finds no malformed packet and no error-level
 * expert info. (BACnet/IP has its own capture test in simulators/bacnet/tshark.test.ts.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile, spawn } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { eventually, peer, tempDir } from '../testing/index.ts';
import { startTestStack, type TestStack } from './test-stack.ts';

const tshark = peer('tshark', 'tshark');
const run = promisify(execFile);

describe.skipIf(!tshark.ok)('a capture of normal operation', () => {
  let t: TestStack;
  const dir = tempDir('vigil-pcap-');

  beforeAll(async () => {
    t = await startTestStack();
  }, 60_000);
  afterAll(async () => {
    await t?.close();
    dir.remove();
  });

  it('dissects without a malformed packet or an error', async () => {
    const modbusPorts = t.site.devices.flatMap((d) => (d.protocol === 'modbus-tcp' ? [d.port] : []));
    const busPort = Number(new URL(t.stack.busUrl).port);
    const file = join(dir.path, 'demo.pcapng');
    const filter = [...modbusPorts, busPort].map((p) => `tcp port ${p}`).join(' or ');
    const capture = spawn(tshark.path, ['-i', 'lo', '-f', filter, '-w', file, '-q'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    capture.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<void>((resolve) => capture.on('exit', () => resolve()));
    try {
      await eventually(() => stderr.includes('Capturing on'), 15_000);
      await new Promise((r) => setTimeout(r, 1000)); // the capture filter attaches just after the banner

      const engineer = await t.login('engineer');
      await eventually(async () => (await t.call(engineer, 'GET', '/api/simulators')).body?.devices?.some((d: { device: string }) => d.device === 'lift-3-ctl'), 10_000);
      for (const [device, fault] of [
        ['booster-2', 'cavitation'],
        ['lift-3-ctl', 'entrapment'],
        ['access-bridge', 'door-forced'],
      ] as const) {
        const params = device === 'access-bridge' ? { door: 'door-f01-01' } : undefined;
        expect((await t.call(engineer, 'POST', `/api/simulators/${device}/faults`, { fault, ...(params ? { params } : {}) })).status).toBe(200);
      }
      await new Promise((r) => setTimeout(r, 4000)); // several poll cycles with the faults active
      for (const [device, fault] of [
        ['booster-2', 'cavitation'],
        ['lift-3-ctl', 'entrapment'],
        ['access-bridge', 'door-forced'],
      ] as const) {
        expect((await t.call(engineer, 'DELETE', `/api/simulators/${device}/faults/${fault}`)).status).toBe(200);
      }
      await new Promise((r) => setTimeout(r, 2000));
    } finally {
      capture.kill('SIGINT');
      await exited;
    }

    const decodeAs = [...modbusPorts.flatMap((p) => ['-d', `tcp.port==${p},mbtcp`]), '-d', `tcp.port==${busPort},mqtt`];
    const protocols = await run(tshark.path, ['-r', file, ...decodeAs, '-T', 'fields', '-e', '_ws.col.Protocol'], { maxBuffer: 256 * 2 ** 20 });
    const seen = new Set(protocols.stdout.split('\n').filter(Boolean));
    expect(seen).toContain('Modbus/TCP');
    expect(seen).toContain('MQTT');
    const frames = protocols.stdout.split('\n').filter(Boolean).length;
    expect(frames).toBeGreaterThan(500);

    const bad = await run(tshark.path, ['-r', file, ...decodeAs, '-Y', '_ws.malformed || _ws.expert.severity == error', '-T', 'fields', '-e', 'frame.number', '-e', '_ws.col.Info'], {
      maxBuffer: 64 * 2 ** 20,
    });
    expect(bad.stdout.trim(), `malformed or error frames:\n${bad.stdout.slice(0, 2000)}`).toBe('');
  }, 90_000);
});
