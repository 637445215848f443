/** The simulators on a real MQTT broker: the retained catalog and fault requests with replies. */
import { createServer, type Server } from 'node:net';
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pino from 'pino';
import mqtt, { type MqttClient } from 'mqtt';
import { DEMO_SITE_FILE, loadSiteFile, simCatalog, simReply, topics, type SimCatalog, type SimReply, type Site } from '@vigil/model';
import { eventually, freePort, peer, portOf, tempDir, useFreePorts } from '../testing/index.ts';
import { startSimulators, type RunningSimulators } from './index.ts';

interface AedesBroker {
  handle: (socket: import('node:net').Socket) => void;
  close(cb?: () => void): void;
}
type AedesModule = { Aedes: { createBroker(opts?: object): Promise<AedesBroker> } };
/**
 * The embedded broker of DESIGN.md when it is installed; aedes is named through a variable so the
 * typecheck does not need it. Without it, Debian's Mosquitto serves as the broker.
 */
const aedesName = 'aedes';
const aedes = (await import(aedesName).catch(() => null)) as AedesModule | null;
const mosquitto = aedes ? null : peer('mosquitto', 'mosquitto');

/** Starts a broker on 127.0.0.1:port; returns its stop function. */
async function startBroker(port: number): Promise<() => Promise<void>> {
  if (aedes) {
    const broker = await aedes.Aedes.createBroker();
    const server: Server = createServer(broker.handle);
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    return async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await new Promise<void>((resolve) => broker.close(() => resolve()));
    };
  }
  const dir = tempDir('vigil-sim-mosquitto-');
  const conf = join(dir.path, 'mosquitto.conf');
  writeFileSync(conf, `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\n`);
  const child: ChildProcess = spawn(mosquitto!.path, ['-c', conf], { stdio: 'ignore' });
  await eventually(async () => {
    const probe = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0, connectTimeout: 500 }, false);
    await probe.endAsync();
    return true;
  });
  return async () => {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
    dir.remove();
  };
}

describe.skipIf(!aedes && !mosquitto?.ok)(`simulators on the bus (${aedes ? 'aedes' : 'mosquitto'})`, () => {
  let stopBroker: () => Promise<void>;
  let url: string;
  let site: Site;
  let sims: RunningSimulators | null = null;
  let observer: MqttClient;
  const received: Array<{ topic: string; payload: Buffer; retain: boolean }> = [];
  const replies = () => received.filter((m) => m.topic.endsWith('/reply')).map((m) => ({ topic: m.topic, reply: simReply.decode(m.payload) }));
  const replyTo = (id: string) =>
    eventually(() => {
      const r = replies().find((x) => x.reply.ok && x.reply.value.id === id);
      return r && r.reply.ok ? { topic: r.topic, reply: r.reply.value as SimReply } : null;
    });
  const catalogs = (): SimCatalog[] =>
    received.filter((m) => m.topic === topics.simCatalog(site.site.id) && m.payload.length > 0).flatMap((m) => {
      const c = simCatalog.decode(m.payload);
      return c.ok ? [c.value] : [];
    });

  beforeAll(async () => {
    const port = await freePort();
    url = `mqtt://127.0.0.1:${port}`;
    stopBroker = await startBroker(port);
    site = loadSiteFile(DEMO_SITE_FILE);
    await useFreePorts(site);
    sims = await startSimulators({ site, bus: { url }, log: pino({ level: 'silent' }), seed: 2 });
    observer = await mqtt.connectAsync(url, { clientId: 'vigil-test-observer', reconnectPeriod: 0 });
    observer.on('message', (topic, payload, packet) => received.push({ topic, payload, retain: packet.retain }));
    await observer.subscribeAsync([topics.simCatalog(site.site.id), topics.all.simReplies(site.site.id)], { qos: 1 });
  });
  afterAll(async () => {
    await observer?.endAsync();
    await sims?.close();
    await stopBroker?.();
  });

  it('publishes a retained catalog of the devices and their faults', async () => {
    const retained = await eventually(() => received.find((m) => m.topic === topics.simCatalog(site.site.id) && m.retain));
    const decoded = simCatalog.decode(retained.payload);
    expect(decoded.ok).toBe(true);
    if (!decoded.ok) return;
    // Every simulated device of the site, each with where it is reached and the model serving it.
    expect(decoded.value.devices.map((d) => [d.device, d.protocol, d.model])).toEqual(
      site.devices.filter((d) => d.simulator).map((d) => [d.id, d.protocol, d.simulator!.model]),
    );
    const listening = site.devices.filter((d) => d.protocol !== 'mqtt');
    expect(decoded.value.devices.filter((d) => d.protocol !== 'mqtt').map((d) => [d.device, d.host, d.port])).toEqual(listening.map((d) => [d.id, '127.0.0.1', portOf(d)]));
    expect(decoded.value.devices[0]!.faults.find((f) => f.name === 'cavitation')).toMatchObject({ active: false });
  });

  it('injects and clears a fault on request, replies, and republishes the catalog', async () => {
    observer.publish(topics.simInject(site.site.id, 'booster-1'), JSON.stringify({ id: 'req-1', fault: 'cavitation' }), { qos: 1 });
    const injected = await replyTo('req-1');
    expect(injected.topic).toBe(topics.simReply(site.site.id, 'booster-1'));
    expect(injected.reply).toMatchObject({ id: 'req-1', ok: true, device: { device: 'booster-1' } });
    expect(injected.reply.device!.faults.find((f) => f.name === 'cavitation')?.active).toBe(true);
    await eventually(() => catalogs().some((c) => c.devices.find((d) => d.device === 'booster-1')?.faults.some((f) => f.name === 'cavitation' && f.active)));
    expect(sims!.endpoints[0]!.faults.find((f) => f.name === 'cavitation')?.active).toBe(true);

    // Injecting an active fault again is fine.
    observer.publish(topics.simInject(site.site.id, 'booster-1'), JSON.stringify({ id: 'req-2', fault: 'cavitation' }), { qos: 1 });
    expect((await replyTo('req-2')).reply.ok).toBe(true);

    observer.publish(topics.simClear(site.site.id, 'booster-1'), JSON.stringify({ id: 'req-3', fault: 'cavitation' }), { qos: 1 });
    const cleared = await replyTo('req-3');
    expect(cleared.reply.device!.faults.every((f) => !f.active)).toBe(true);
    await eventually(() => catalogs().at(-1)?.devices.every((d) => d.faults.every((f) => !f.active)));
  });

  it('answers not-found for an unknown device or fault, invalid for bad params', async () => {
    observer.publish(topics.simInject(site.site.id, 'booster-9'), JSON.stringify({ id: 'req-4', fault: 'cavitation' }), { qos: 1 });
    observer.publish(topics.simInject(site.site.id, 'booster-1'), JSON.stringify({ id: 'req-5', fault: 'flood' }), { qos: 1 });
    observer.publish(topics.simInject(site.site.id, 'booster-1'), JSON.stringify({ id: 'req-6', fault: 'cavitation', params: { severity: 7 } }), { qos: 1 });
    const r4 = await replyTo('req-4');
    expect(r4.topic).toBe(topics.simReply(site.site.id, 'booster-9'));
    expect(r4.reply).toMatchObject({ ok: false, error: { code: 'not-found' } });
    expect((await replyTo('req-5')).reply).toMatchObject({ ok: false, error: { code: 'not-found' } });
    expect((await replyTo('req-6')).reply).toMatchObject({ ok: false, error: { code: 'invalid' } });
  });

  it('survives invalid payloads: counts them, answers when it can read an id, keeps working', async () => {
    const before = sims!.counters().bus!.invalid;
    const inject = topics.simInject(site.site.id, 'booster-2');
    observer.publish(inject, 'not json at all', { qos: 1 });
    observer.publish(inject, Buffer.from([0xff, 0xfe, 0x00]), { qos: 1 });
    observer.publish(inject, JSON.stringify({ fault: 42 }), { qos: 1 });
    observer.publish(inject, JSON.stringify({ id: 'req-7' }), { qos: 1 }); // no fault
    observer.publish(`vigil/v1/${site.site.id}/sim/booster-2/explode`, '{}', { qos: 1 });
    const r7 = await replyTo('req-7');
    expect(r7.reply).toMatchObject({ ok: false, error: { code: 'invalid' } });
    await eventually(() => sims!.counters().bus!.invalid >= before + 5);
    observer.publish(inject, JSON.stringify({ id: 'req-8', fault: 'no-response' }), { qos: 1 });
    expect((await replyTo('req-8')).reply.ok).toBe(true);
    observer.publish(topics.simClear(site.site.id, 'booster-2'), JSON.stringify({ id: 'req-9', fault: 'no-response' }), { qos: 1 });
    expect((await replyTo('req-9')).reply.ok).toBe(true);
  });

  it('leaves a device served by another simulator process to that process', async () => {
    const other = structuredClone(site);
    other.site.id = 'other';
    await useFreePorts(other);
    const partial = await startSimulators({ site: other, bus: { url }, log: pino({ level: 'silent' }), devices: ['booster-1'] });
    const seen: string[] = [];
    const probe = await mqtt.connectAsync(url, { reconnectPeriod: 0 });
    try {
      probe.on('message', (topic, payload) => seen.push(`${topic} ${payload.toString()}`));
      await probe.subscribeAsync(topics.all.simReplies('other'), { qos: 1 });
      await probe.publishAsync(topics.simInject('other', 'booster-2'), JSON.stringify({ id: 'elsewhere', fault: 'cavitation' }), { qos: 1 });
      await probe.publishAsync(topics.simInject('other', 'booster-1'), JSON.stringify({ id: 'here', fault: 'cavitation' }), { qos: 1 });
      await eventually(() => seen.some((s) => s.includes('"here"')));
      expect(seen.some((s) => s.includes('"elsewhere"'))).toBe(false);
    } finally {
      await probe.endAsync();
      await partial.close();
    }
  });

  it('clears its retained catalog when it closes', async () => {
    await sims!.close();
    sims = null;
    const late: Buffer[] = [];
    const probe = await mqtt.connectAsync(url, { reconnectPeriod: 0 });
    try {
      probe.on('message', (_topic, payload) => late.push(payload));
      await probe.subscribeAsync(topics.simCatalog(site.site.id), { qos: 1 });
      await new Promise((r) => setTimeout(r, 300));
      expect(late.filter((p) => p.length > 0)).toEqual([]);
    } finally {
      await probe.endAsync();
    }
  });
});
