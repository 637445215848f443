import { spawn, execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pino from 'pino';
import { ApplicationTag, ObjectType, PropertyIdentifier as P } from '@bacnet-js/client';
import { DEMO_SITE_FILE, loadSiteFile } from '@vigil/model';
import { eventually, peer, portOf, tempDir, useFreePorts } from '../../testing/index.ts';
import { startSimulators, type RunningSimulators } from '../index.ts';
import { TestClient } from '../../testing/bacnet-client.ts';

const tshark = peer('tshark', 'tshark');
const ALL = 0xffffffff;

describe.skipIf(!tshark.ok)('tshark dissects a normal BACnet/IP session without a malformed packet', () => {
  let sims: RunningSimulators;
  let client: TestClient;
  let dir: ReturnType<typeof tempDir>;
  let ports: [number, number];

  beforeAll(async () => {
    const site = loadSiteFile(DEMO_SITE_FILE);
    await useFreePorts(site);
    ports = [portOf(site.devices.find((d) => d.id === 'fire-panel')), portOf(site.devices.find((d) => d.id === 'ahu-1-ctl'))];
    sims = await startSimulators({ site, log: pino({ level: 'silent' }), devices: ['fire-panel', 'ahu-1-ctl'] });
    client = await TestClient.open();
    dir = tempDir('vigil-bacnet-pcap-');
  });
  afterAll(async () => {
    client?.close();
    await sims?.close();
    dir?.remove();
  });

  it('captures discovery, polling, COV and faults, and finds no malformed packet or error', async () => {
    const file = join(dir.path, 'session.pcapng');
    const [panelPort, ahuPort] = ports;
    const capture = spawn(tshark.path, ['-i', 'lo', '-f', `udp port ${panelPort} or udp port ${ahuPort}`, '-w', file, '-q'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    capture.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => capture.on('exit', resolve));
    try {
      await eventually(() => stderr.includes('Capturing on'), 15_000);
      // dumpcap reports before its filter is attached: give it a moment, or the first packets are lost.
      await new Promise((r) => setTimeout(r, 1000));

      // A normal session: discovery, polling, COV, a fault injected and cleared, a command written and relinquished.
      const panel = { address: `127.0.0.1:${panelPort}` };
      const ahu = { address: `127.0.0.1:${ahuPort}` };
      await Promise.all([client.discover(panelPort), client.discover(ahuPort)]);
      await client.client.readPropertyMultiple(panel, [
        { objectId: { type: ObjectType.DEVICE, instance: 1001 }, properties: [{ id: P.OBJECT_LIST, index: ALL }] },
        { objectId: { type: ObjectType.LIFE_SAFETY_ZONE, instance: 3 }, properties: [{ id: P.ALL, index: ALL }] },
      ]);
      await client.client.readPropertyMultiple(ahu, [{ objectId: { type: ObjectType.ANALOG_VALUE, instance: 1 }, properties: [{ id: P.ALL, index: ALL }] }]);
      await client.read(panelPort, { type: ObjectType.LIFE_SAFETY_POINT, instance: 301 }, P.STATUS_FLAGS);
      await client.client.subscribeCov(panel, { type: ObjectType.LIFE_SAFETY_ZONE, instance: 2 }, 5, false, false, 120);
      await client.client.subscribeCov(panel, { type: ObjectType.BINARY_INPUT, instance: 5 }, 6, false, true, 120);
      sims.inject('fire-panel', 'fire-alarm', { zone: 'b1' });
      sims.inject('fire-panel', 'mains-failure');
      await eventually(() => client.notifications.filter((n) => n.processId === 5).length >= 2);
      sims.clear('fire-panel', 'fire-alarm');
      sims.clear('fire-panel', 'mains-failure');
      await eventually(() => client.notifications.filter((n) => n.processId === 5).length >= 3);
      await client.client.writeProperty(ahu, { type: ObjectType.ANALOG_VALUE, instance: 1 }, P.PRESENT_VALUE, [{ type: ApplicationTag.REAL, value: 19 }], { priority: 8 });
      await client.client.writeProperty(ahu, { type: ObjectType.ANALOG_VALUE, instance: 1 }, P.PRESENT_VALUE, [{ type: ApplicationTag.NULL, value: null }], { priority: 8 });
      await client.client.subscribeCov(panel, { type: ObjectType.LIFE_SAFETY_ZONE, instance: 2 }, 5, true, false, 0);
      await new Promise((r) => setTimeout(r, 300)); // let the last datagrams reach the capture
    } finally {
      capture.kill('SIGINT');
      await exited;
    }

    const decode = (filter: string) =>
      execFileSync(tshark.path, ['-r', file, '-d', `udp.port==${panelPort},bvlc`, '-d', `udp.port==${ahuPort},bvlc`, '-Y', filter, '-T', 'fields', '-e', 'frame.number', '-e', '_ws.col.Info'], { encoding: 'utf8' })
        .split('\n')
        .filter(Boolean);
    const bacnet = decode('bacapp');
    expect(bacnet.length).toBeGreaterThan(20);
    for (const service of ['who-Is', 'i-Am', 'readPropertyMultiple', 'readProperty', 'subscribeCOV', 'unconfirmedCOVNotification', 'confirmedCOVNotification', 'writeProperty']) {
      expect(bacnet.join('\n')).toContain(service);
    }
    expect(decode('_ws.malformed || _ws.expert.severity == error')).toEqual([]);
  });
});
