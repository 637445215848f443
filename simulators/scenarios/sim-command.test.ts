/** Fault requests over the bus (`vigil sim fault|clear`), and bad input on the request topics. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pino from 'pino';
import mqtt, { type MqttClient } from 'mqtt';
import { DEMO_SITE_FILE, loadSiteFile, topics, type Site } from '@vigil/model';
import { eventually } from '../../testing/index.ts';
import { startSimulators, type RunningSimulators } from '../index.ts';
import { startTestBroker } from '../../testing/broker.ts';
import { remoteSimulators, sendSimCommand, SimCommandTimeout } from './sim-command.ts';

describe('sendSimCommand', () => {
  let broker: Awaited<ReturnType<typeof startTestBroker>>;
  let site: Site;
  let sims: RunningSimulators;
  let attacker: MqttClient;
  const send = (device: string, action: 'inject' | 'clear', fault: string, params?: Record<string, string | number>) =>
    sendSimCommand({ bus: { url: broker.url }, site: site.site.id, device, action, fault, params, timeoutMs: 3000 });

  beforeAll(async () => {
    broker = await startTestBroker();
    site = loadSiteFile(DEMO_SITE_FILE);
    sims = await startSimulators({ site, bus: { url: broker.url }, log: pino({ level: 'silent' }), devices: ['access-bridge', 'vms-bridge'] });
    attacker = await mqtt.connectAsync(broker.url, { clientId: 'vigil-test-garbage', reconnectPeriod: 0 });
  });
  afterAll(async () => {
    await attacker?.endAsync();
    await sims?.close();
    await broker?.stop();
  });

  it('injects and clears a fault and resolves with the reply', async () => {
    const injected = await send('access-bridge', 'inject', 'held-open', { door: 'door-f01-02' });
    expect(injected).toMatchObject({ ok: true, device: { device: 'access-bridge', protocol: 'mqtt' } });
    expect(injected.device!.faults.find((f) => f.name === 'held-open')!.active).toBe(true);
    const cleared = await send('access-bridge', 'clear', 'held-open');
    expect(cleared.ok).toBe(true);
    expect(cleared.device!.faults.every((f) => !f.active)).toBe(true);
  });

  it("resolves with the simulator's refusal: unknown fault, bad params", async () => {
    expect(await send('vms-bridge', 'inject', 'melted')).toMatchObject({ ok: false, error: { code: 'not-found' } });
    expect(await send('vms-bridge', 'inject', 'tamper', { kind: 'painted' })).toMatchObject({ ok: false, error: { code: 'invalid', message: expect.stringContaining("'kind'") } });
  });

  it('refuses ids that would address other topics, before sending', async () => {
    await expect(send('vms-bridge/#', 'inject', 'tamper')).rejects.toMatchObject({ code: 'invalid' });
  });

  it('times out with a clear message when no simulator serves the device', async () => {
    const err = await sendSimCommand({ bus: { url: broker.url }, site: 'elsewhere', device: 'lift-1-ctl', action: 'inject', fault: 'entrapment', timeoutMs: 300 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SimCommandTimeout);
    expect((err as Error).message).toMatch(/no simulator answered .* within 300 ms/);
  });

  it('drives a scenario target: a refused step throws with the simulator message', async () => {
    const remote = remoteSimulators({ bus: { url: broker.url }, site: site.site.id, timeoutMs: 3000 });
    await remote.inject('vms-bridge', 'video-loss', { camera: 'cam-f03-01' });
    expect(sims.endpoints.find((e) => e.device === 'vms-bridge')!.faults.find((f) => f.name === 'video-loss')!.active).toBe(true);
    await remote.clear('vms-bridge', 'video-loss');
    await expect(remote.inject('vms-bridge', 'video-loss', { camera: 'cam-z9' })).rejects.toThrow(/param 'camera'/);
  });

  it('survives oversized and invalid requests: counts them and keeps answering', async () => {
    const before = sims.counters().bus!.invalid;
    const inject = topics.simInject(site.site.id, 'access-bridge');
    const garbage: Array<[string, string | Buffer]> = [
      [inject, Buffer.alloc(2 * 1024 * 1024, 0x7b)], // 2 MiB of '{'
      [inject, JSON.stringify({ id: 'big', fault: 'door-forced', params: Object.fromEntries(Array.from({ length: 5000 }, (_, i) => [`k${i}`, i])) })],
      [inject, '{"id": "x", "fault": '], // truncated JSON
      [inject, JSON.stringify({ id: 7, fault: ['door-forced'], params: 'all' })], // wrong types
      [inject, Buffer.from([0x00, 0xff, 0xc3, 0x28, 0xfe, 0x80, 0x01])], // binary, invalid UTF-8
      [topics.simClear(site.site.id, 'access-bridge'), 'null'],
      [`${inject}/extra/levels`, JSON.stringify({ id: 'deep', fault: 'door-forced' })], // not on a request topic: never delivered
    ];
    for (const [topic, payload] of garbage) await attacker.publishAsync(topic, payload, { qos: 1 });
    await eventually(() => sims.counters().bus!.invalid >= before + 6);
    // Still serving: a valid request is answered, and the bridges still step.
    const events = sims.counters().devices['access-bridge']!.events!;
    expect(await send('access-bridge', 'inject', 'reader-tamper', { door: 'door-b2-01' })).toMatchObject({ ok: true });
    expect(await send('access-bridge', 'clear', 'reader-tamper')).toMatchObject({ ok: true });
    await eventually(() => sims.counters().devices['access-bridge']!.events! >= events + 2);
    expect(sims.endpoints.find((e) => e.device === 'access-bridge')!.faults.every((f) => !f.active)).toBe(true);
  });
});
