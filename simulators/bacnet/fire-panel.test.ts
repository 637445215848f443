import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pino from 'pino';
import { ObjectType, PropertyIdentifier as P } from '@bacnet-js/client';
import { DEMO_SITE_FILE, loadSiteFile, type Site } from '@vigil/model';
import { eventually, portOf, useFreePorts } from '../../testing/index.ts';
import { startSimulators, type RunningSimulators } from '../index.ts';
import { TestClient } from '../../testing/bacnet-client.ts';

const LSZ = ObjectType.LIFE_SAFETY_ZONE;
const LSP = ObjectType.LIFE_SAFETY_POINT;
/** LifeSafetyState (DOMAIN.md). */
const QUIET = 0;
const ALARM = 2;
const FAULT = 3;
/** Status_Flags as the client decodes them: bit 0 in-alarm, bit 1 fault (LSB first). */
const flags = (v: unknown) => (v as { value: number[] }).value[0]! & 0x0f;

describe('fire-panel and ahu through the runner, read by a @bacnet-js/client peer', () => {
  let site: Site;
  let sims: RunningSimulators;
  let client: TestClient;
  let panelPort: number;
  let ahuPort: number;

  beforeAll(async () => {
    site = loadSiteFile(DEMO_SITE_FILE);
    await useFreePorts(site);
    panelPort = portOf(site.devices.find((d) => d.id === 'fire-panel'));
    ahuPort = portOf(site.devices.find((d) => d.id === 'ahu-1-ctl'));
    sims = await startSimulators({ site, log: pino({ level: 'silent' }), seed: 7, devices: ['fire-panel', 'ahu-1-ctl'] });
    client = await TestClient.open();
  });
  afterAll(async () => {
    client?.close();
    await sims?.close();
  });

  it('lists both endpoints as bacnet-ip with host, port and device instance', () => {
    expect(sims.endpoints.map((e) => [e.device, e.protocol, e.host, e.port, e.instance, e.model])).toEqual([
      ['fire-panel', 'bacnet-ip', '127.0.0.1', panelPort, 1001, 'fire-panel'],
      ['ahu-1-ctl', 'bacnet-ip', '127.0.0.1', ahuPort, 2001, 'ahu'],
    ]);
    expect(sims.endpoints[0]!.faults.map((f) => f.name)).toContain('fire-alarm');
  });

  it('answers a unicast Who-Is with I-Am: instance, 1476-octet APDUs, no segmentation', async () => {
    const [panel, ahu] = await Promise.all([client.discover(panelPort), client.discover(ahuPort)]);
    expect(panel).toMatchObject({ deviceId: 1001, maxApdu: 1476, segmentation: 3 });
    expect(ahu).toMatchObject({ deviceId: 2001, maxApdu: 1476, segmentation: 3 });
  });

  it('serves its object list and objects through ReadPropertyMultiple', async () => {
    const result = await client.client.readPropertyMultiple({ address: `127.0.0.1:${panelPort}` }, [
      { objectId: { type: ObjectType.DEVICE, instance: 1001 }, properties: [{ id: P.OBJECT_LIST, index: 0xffffffff }] },
      { objectId: { type: LSZ, instance: 7 }, properties: [{ id: P.OBJECT_NAME, index: 0xffffffff }, { id: P.DESCRIPTION, index: 0xffffffff }, { id: P.PRESENT_VALUE, index: 0xffffffff }, { id: P.MODE, index: 0xffffffff }] },
      { objectId: { type: LSP, instance: 701 }, properties: [{ id: P.PRESENT_VALUE, index: 0xffffffff }, { id: P.STATUS_FLAGS, index: 0xffffffff }, { id: P.RELIABILITY, index: 0xffffffff }] },
      { objectId: { type: ObjectType.MULTI_STATE_VALUE, instance: 1 }, properties: [{ id: P.STATE_TEXT, index: 0xffffffff }] },
    ]);
    const byObject = result.values.map((o) => Object.fromEntries(o.values.map((v) => [v.id, v.value.map((x) => x.value)])));
    const objectList = byObject[0]![P.OBJECT_LIST] as Array<{ type: number; instance: number }>;
    // Device, 5 panel inputs, the silenced MSV, 22 zones (B2…20F) and 4 detectors each.
    expect(objectList).toHaveLength(1 + 5 + 1 + 22 + 22 * 4);
    expect(objectList).toContainEqual({ type: LSZ, instance: 22 });
    expect(objectList).toContainEqual({ type: LSP, instance: 2204 });
    expect(byObject[1]).toEqual({ [P.OBJECT_NAME]: ['fire-zone-f05'], [P.DESCRIPTION]: ['5F offices'], [P.PRESENT_VALUE]: [QUIET], [P.MODE]: [11] });
    expect(byObject[2]![P.PRESENT_VALUE]).toEqual([QUIET]);
    expect(flags(byObject[2]![P.STATUS_FLAGS]![0])).toBe(0);
    expect(byObject[3]![P.STATE_TEXT]).toEqual(['unsilenced', 'audible-silenced', 'visible-silenced', 'all-silenced']);
  });

  it('serves each property type through ReadProperty, arrays element by element, errors for the rest', async () => {
    const lsp = { type: LSP, instance: 701 };
    expect(await client.read(panelPort, lsp, P.OBJECT_IDENTIFIER)).toEqual([lsp]); // object identifier
    expect(await client.read(panelPort, lsp, P.OBJECT_NAME)).toEqual(['fire-zone-f05-detector-01']); // character string
    expect(await client.read(panelPort, lsp, P.TRACKING_VALUE)).toEqual([QUIET]); // enumerated
    expect(await client.read(panelPort, lsp, P.OUT_OF_SERVICE)).toEqual([false]); // boolean
    const [reading] = await client.read(panelPort, lsp, P.DIRECT_READING); // real
    expect(reading).toBeGreaterThan(0.2);
    expect(reading).toBeLessThan(0.4);
    expect(await client.read(panelPort, lsp, P.ACCEPTED_MODES)).toEqual([11, 12, 2]); // list of enumerated
    expect(await client.read(panelPort, { type: ObjectType.MULTI_STATE_VALUE, instance: 1 }, P.PRESENT_VALUE)).toEqual([1]); // unsigned
    const device = { type: ObjectType.DEVICE, instance: 1001 };
    expect(await client.read(panelPort, device, P.OBJECT_LIST, 0)).toEqual([117]);
    expect(await client.read(panelPort, device, P.OBJECT_LIST, 1)).toEqual([device]);
    await expect(client.read(panelPort, device, P.OBJECT_LIST, 500)).rejects.toThrow('Code:42'); // invalid-array-index
    await expect(client.read(panelPort, { type: LSZ, instance: 7 }, P.ZONE_MEMBERS)).rejects.toThrow('Class:2 - Code:0'); // not encodable
    await expect(client.read(panelPort, { type: LSZ, instance: 99 }, P.PRESENT_VALUE)).rejects.toThrow('Code:31'); // unknown-object
  });

  it('notifies COV right after subscribing (13.14), on a fire alarm and on its reset', async () => {
    const panel = { address: `127.0.0.1:${panelPort}` };
    const zone = { type: LSZ, instance: 7 };
    const detector = { type: LSP, instance: 701 };
    const fromZone = () => client.notifications.filter((n) => n.object.type === LSZ && n.object.instance === 7);
    await client.client.subscribeCov(panel, zone, 11, false, false, 300);
    const initial = await eventually(() => fromZone()[0]);
    expect(initial).toMatchObject({ confirmed: false, processId: 11, device: 1001, values: { [P.PRESENT_VALUE]: QUIET } });
    expect(initial.timeRemaining).toBeGreaterThan(290);
    await client.client.subscribeCov(panel, detector, 12, false, true, 0);
    await eventually(() => client.notifications.find((n) => n.confirmed && n.processId === 12));

    sims.inject('fire-panel', 'fire-alarm', { zone: 'f05' });
    const alarm = await eventually(() => fromZone()[1]);
    expect(alarm.values[P.PRESENT_VALUE]).toBe(ALARM);
    expect(flags(alarm.values[P.STATUS_FLAGS])).toBe(0b0001); // in-alarm
    await eventually(() => client.notifications.find((n) => n.processId === 12 && n.values[P.PRESENT_VALUE] === ALARM));
    expect(await client.read(panelPort, { type: ObjectType.BINARY_INPUT, instance: 5 }, P.PRESENT_VALUE)).toEqual([1]);
    expect(await client.read(panelPort, detector, P.OPERATION_EXPECTED)).toEqual([1]); // silence

    sims.clear('fire-panel', 'fire-alarm');
    const reset = await eventually(() => fromZone()[2]);
    expect(reset.values[P.PRESENT_VALUE]).toBe(QUIET);
    expect(flags(reset.values[P.STATUS_FLAGS])).toBe(0);

    sims.inject('fire-panel', 'detector-failed', { zone: 'f05', detector: 1 });
    const trouble = await eventually(() => fromZone()[3]);
    expect(trouble.values[P.PRESENT_VALUE]).toBe(FAULT);
    expect(flags(trouble.values[P.STATUS_FLAGS])).toBe(0b0011); // in-alarm (event state fault) and fault
    expect(await client.read(panelPort, detector, P.RELIABILITY)).toEqual([7]);
    sims.clear('fire-panel', 'detector-failed');
    await eventually(() => fromZone()[4]);
    await client.client.subscribeCov(panel, zone, 11, true, false, 0); // cancel
  });

  it('refuses bad fault params with the runner error codes', () => {
    expect(() => sims.inject('fire-panel', 'fire-alarm', { zone: 'f99' })).toThrow(expect.objectContaining({ code: 'invalid' }));
    expect(() => sims.inject('fire-panel', 'detector-dirty', { zone: 'f05', detector: 5 })).toThrow(expect.objectContaining({ code: 'invalid' }));
    expect(() => sims.inject('fire-panel', 'earthquake')).toThrow(expect.objectContaining({ code: 'not-found' }));
  });
});

describe('fire-panel with an object list longer than one APDU', () => {
  let sims: RunningSimulators;
  let client: TestClient;
  let port: number;

  beforeAll(async () => {
    const site = loadSiteFile(DEMO_SITE_FILE);
    await useFreePorts(site);
    const panel = site.devices.find((d) => d.id === 'fire-panel')!;
    panel.simulator!.params.detectorsPerZone = 60; // 22 × 60 detectors: about 6,700 octets of object ids
    port = portOf(panel);
    sims = await startSimulators({ site, log: pino({ level: 'silent' }), devices: ['fire-panel'] });
    client = await TestClient.open();
  });
  afterAll(async () => {
    client?.close();
    await sims?.close();
  });

  it('aborts the whole read (no segmentation) and serves it element by element', async () => {
    const device = { type: ObjectType.DEVICE, instance: 1001 };
    await expect(client.read(port, device, P.OBJECT_LIST)).rejects.toThrow('Reason:4'); // segmentation-not-supported
    const total = 1 + 5 + 1 + 22 + 22 * 60;
    expect(await client.read(port, device, P.OBJECT_LIST, 0)).toEqual([total]);
    expect(await client.read(port, device, P.OBJECT_LIST, total)).toEqual([{ type: LSP, instance: 2260 }]);
    expect(sims.counters().devices['fire-panel']!.aborted).toBe(1);
  });
});
