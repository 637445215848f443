import { createSocket } from 'node:dgram';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pino from 'pino';
import { ApplicationTag, ObjectType, PropertyIdentifier as P } from '@bacnet-js/client';
import { DEMO_SITE_FILE, loadSiteFile } from '@vigil/model';
import { portOf, useFreePorts } from '../../testing/index.ts';
import { startSimulators, type RunningSimulators } from '../index.ts';
import { TestClient } from '../../testing/bacnet-client.ts';

const SETPOINT = { type: ObjectType.ANALOG_VALUE, instance: 1 };
const ALL = 0xffffffff;

describe('ahu: commandable set points, legacy mode, bad input, comm loss', () => {
  let sims: RunningSimulators;
  let client: TestClient;
  let port: number;
  let ahu: { address: string };

  beforeAll(async () => {
    const site = loadSiteFile(DEMO_SITE_FILE);
    await useFreePorts(site);
    port = portOf(site.devices.find((d) => d.id === 'ahu-1-ctl'));
    ahu = { address: `127.0.0.1:${port}` };
    sims = await startSimulators({ site, log: pino({ level: 'silent' }), devices: ['ahu-1-ctl'] });
    client = await TestClient.open();
  });
  afterAll(async () => {
    client?.close();
    await sims?.close();
  });

  const write = (value: number | null, priority: number) =>
    client.client.writeProperty(ahu, SETPOINT, P.PRESENT_VALUE, [value === null ? { type: ApplicationTag.NULL, value: null } : { type: ApplicationTag.REAL, value }], { priority });
  const presentValue = async () => (await client.read(port, SETPOINT, P.PRESENT_VALUE))[0];

  it('follows the highest priority of its priority array, then Relinquish_Default (19.2)', async () => {
    expect(await presentValue()).toBe(16); // Relinquish_Default
    await write(20, 8);
    expect(await presentValue()).toBe(20);
    await write(18, 4); // a higher priority overrides
    expect(await presentValue()).toBe(18);
    const slots = await client.read(port, SETPOINT, P.PRIORITY_ARRAY);
    expect(slots).toHaveLength(16);
    expect([slots[3], slots[7], slots[15]]).toEqual([18, 20, null]);
    expect(await client.read(port, SETPOINT, P.PRIORITY_ARRAY, 8)).toEqual([20]);
    await write(null, 4); // relinquish
    expect(await presentValue()).toBe(20);
    await write(null, 8);
    expect(await presentValue()).toBe(16);
    await expect(write(45, 8)).rejects.toThrow('Code:37'); // value-out-of-range
    await expect(write(20, 6)).rejects.toThrow('Code:40'); // priority 6 is reserved
    await expect(client.client.writeProperty(ahu, { type: ObjectType.ANALOG_INPUT, instance: 1 }, P.PRESENT_VALUE, [{ type: ApplicationTag.REAL, value: 5 }], { priority: 8 })).rejects.toThrow('Code:40');
  });

  it('rejects ReadPropertyMultiple in legacy mode while ReadProperty still works', async () => {
    const spec = [{ objectId: { type: ObjectType.ANALOG_INPUT, instance: 1 }, properties: [{ id: P.PRESENT_VALUE, index: ALL }] }];
    expect((await client.client.readPropertyMultiple(ahu, spec)).values).toHaveLength(1);
    sims.inject('ahu-1-ctl', 'legacy');
    await expect(client.client.readPropertyMultiple(ahu, spec)).rejects.toThrow('Reason:9'); // Reject unrecognized-service
    const [supply] = await client.read(port, { type: ObjectType.ANALOG_INPUT, instance: 1 }, P.PRESENT_VALUE);
    expect(supply).toBeGreaterThan(5);
    expect(supply).toBeLessThan(30);
    sims.clear('ahu-1-ctl', 'legacy');
    expect((await client.client.readPropertyMultiple(ahu, spec)).values).toHaveLength(1);
  });

  it('shows a fan failure and a failed sensor on its inputs', async () => {
    sims.inject('ahu-1-ctl', 'fan-failure');
    sims.inject('ahu-1-ctl', 'sensor-failed', { sensor: 'return-air-temperature' });
    expect(await client.read(port, { type: ObjectType.BINARY_OUTPUT, instance: 1 }, P.PRESENT_VALUE)).toEqual([1]); // still commanded on
    expect(await client.read(port, { type: ObjectType.BINARY_INPUT, instance: 1 }, P.PRESENT_VALUE)).toEqual([0]); // no proof of flow
    expect(await client.read(port, { type: ObjectType.ANALOG_INPUT, instance: 2 }, P.RELIABILITY)).toEqual([4]); // open-loop
    sims.clear('ahu-1-ctl', 'fan-failure');
    sims.clear('ahu-1-ctl', 'sensor-failed');
    expect(await client.read(port, { type: ObjectType.BINARY_INPUT, instance: 1 }, P.PRESENT_VALUE)).toEqual([1]);
  });

  it('ignores and counts malformed packets, and keeps answering', async () => {
    const bad = [
      Buffer.from([0x81]), // shorter than a BVLL header
      Buffer.from([0x81, 0x0a, 0x00, 0x20, 0x01, 0x04]), // BVLL length says 32
      Buffer.from([0x82, 0x0a, 0x00, 0x06, 0x01, 0x04]), // not BACnet/IP
      Buffer.from([0x81, 0x0a, 0x00, 0x05, 0x01]), // NPDU truncated
      Buffer.from([0x81, 0x0a, 0x00, 0x06, 0x02, 0x04]), // NPDU version 2
      Buffer.from([0x81, 0x0a, 0x00, 0x07, 0x01, 0x28, 0x00]), // DNET and SNET announced, not there
      Buffer.from([0x81, 0x0a, 0x00, 0x06, 0x01, 0x04]), // no APDU
      Buffer.from([0x81, 0x0a, 0x00, 0x08, 0x01, 0x04, 0x00, 0x05]), // confirmed request header truncated
      Buffer.from([0x81, 0x0a, 0x00, 0x0a, 0x01, 0x04, 0x00, 0x05, 0x01, 0x0c]), // ReadProperty without its object
      Buffer.from([0x81, 0x0a, 0x00, 0x0d, 0x01, 0x04, 0x00, 0x05, 0x02, 0x0c, 0x0c, 0x00, 0x80]), // object id cut short
      Buffer.from([0x81, 0x0a, 0x00, 0x07, 0x01, 0x00, 0xf0]), // PDU type 15
      Buffer.from('not bacnet at all, just text'),
      Buffer.from(Array.from({ length: 64 }, (_, i) => (i * 37 + 11) & 0xff)), // fixed "random" bytes
    ];
    const before = sims.counters().devices['ahu-1-ctl']!;
    const socket = createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    for (const datagram of bad) await new Promise((resolve) => socket.send(datagram, port, '127.0.0.1', resolve));
    socket.close();
    // Still serving: a read after the garbage is answered (UDP from one socket arrives in order).
    expect(await presentValue()).toBe(16);
    const after = sims.counters().devices['ahu-1-ctl']!;
    expect(after.malformed! - before.malformed!).toBe(bad.length);
  });

  it('answers nothing during comm-loss, and again once it clears', async () => {
    sims.inject('ahu-1-ctl', 'comm-loss');
    await expect(presentValue()).rejects.toThrow('ERR_TIMEOUT');
    sims.clear('ahu-1-ctl', 'comm-loss');
    expect(await presentValue()).toBe(16);
  });
});
