/** The BACnet/IP simulator models: each device model behind a BacnetDeviceServer on its own UDP port. */
import { DEMO_SITE_FILE, loadSiteFile, type BacnetDevice } from '@vigil/model';
import type { SimulatedDevice, SimulatorModel } from '../device.ts';
import { AHU_FAULTS, AirHandlingUnit } from './ahu.ts';
import { FIRE_PANEL_FAULTS, FirePanel } from './fire-panel.ts';
import { ObjectType } from '@bacnet-js/client';
import { renderReference } from './reference.ts';
import { BacnetDeviceServer, createDeviceObject, type DeviceIdentity } from './server.ts';
import type { BacnetObject } from './objects.ts';

const FIRE_PANEL_MODEL_NAME = 'Vigil simulated fire-alarm panel (Notifier CLSS-like BACnet mapping)';
const AHU_MODEL_NAME = 'Vigil simulated air-handling unit controller';

/** What the two models share: the plant model, faults, and how comm-loss reaches the wire. */
interface PlantModel {
  readonly objects: BacnetObject[];
  readonly commLoss: boolean;
  faults(): ReturnType<SimulatedDevice['faults']>;
  inject(fault: string, params?: Record<string, number | string | boolean>): void;
  clear(fault: string): void;
  step(now: number): void;
}

async function serve(device: BacnetDevice, model: string, modelName: string, plant: PlantModel, log: Parameters<SimulatorModel<BacnetDevice>['start']>[0]['log'], rpm?: () => boolean): Promise<SimulatedDevice> {
  const host = device.host ?? '127.0.0.1';
  const server = new BacnetDeviceServer({
    host,
    port: device.port,
    device: identityOf(device, modelName),
    objects: plant.objects,
    log,
    readPropertyMultiple: rpm,
  });
  await server.listen();
  // A fault shows on the wire at once: comm-loss silences the socket, COV subscribers hear of changes.
  const sync = () => {
    server.silent = plant.commLoss;
    server.checkCov();
  };
  return {
    endpoint: { device: device.id, protocol: 'bacnet-ip', host, port: device.port, instance: device.instance, model },
    faults: () => plant.faults(),
    inject(fault, params) {
      plant.inject(fault, params);
      sync();
    },
    clear(fault) {
      plant.clear(fault);
      sync();
    },
    step(now) {
      plant.step(now);
      server.checkCov();
    },
    counters: () => ({ ...server.counters() }),
    close: () => server.close(),
  };
}

function identityOf(device: BacnetDevice, modelName: string): DeviceIdentity {
  return { instance: device.instance, name: device.id, description: device.name ?? device.id, modelName };
}

/** The demo site's device of a model, for the reference (which has no site of its own). */
function demoDevice(model: string): { site: ReturnType<typeof loadSiteFile>; device: BacnetDevice } {
  const site = loadSiteFile(DEMO_SITE_FILE);
  const device = site.devices.find((d): d is BacnetDevice => d.protocol === 'bacnet-ip' && d.simulator?.model === model);
  if (!device) throw new Error(`the demo site has no '${model}' device`);
  return { site, device };
}

const LIBRARY_NOTES = [
  'Who-Is is answered with a unicast I-Am to the requester (never broadcast); ReadProperty, ReadPropertyMultiple (ALL, REQUIRED and OPTIONAL expand to every property served), WriteProperty and SubscribeCOV (confirmed or unconfirmed, lifetime in seconds, 0 = indefinite; the initial notification follows the SimpleACK, clause 13.14) are served; any other confirmed service gets Reject unrecognized-service.',
  'Answers are never segmented (@bacnet-js/client cannot send segments): an answer longer than the requester\'s Max_APDU_Length_Accepted (at most 1476) gets Abort segmentation-not-supported; read long arrays element by element.',
  'Malformed datagrams (BVLL, NPDU or APDU header, wrong lengths) are dropped and counted (`malformed`); a confirmed request whose service data cannot be decoded is counted and answered with Reject other.',
];

export const firePanelModel: SimulatorModel<BacnetDevice> = {
  name: 'fire-panel',
  protocol: 'bacnet-ip',
  description: 'Fire-alarm control panel: a Life Safety Zone per floor, Life Safety Points per zone, panel trouble, supervisory and silenced states',
  reference() {
    const { site, device } = demoDevice('fire-panel');
    const detectorsPerZone = Number(device.simulator?.params.detectorsPerZone ?? 4);
    const panel = new FirePanel({ site, detectorsPerZone, seed: 1, now: 0 });
    const objects: BacnetObject[] = [createDeviceObject(identityOf(device, FIRE_PANEL_MODEL_NAME), () => objects), ...panel.objects];
    const firstZone = panel.zones[0]!;
    return renderReference({
      title: '`fire-panel` (BACnet/IP)',
      intro: [
        `Device ${device.instance} of the demo site (\`${device.id}\`, UDP ${device.port}); param \`detectorsPerZone\` (1–99, demo ${detectorsPerZone}).`,
        'One Life Safety Zone per floor of the site (instance = position of the floor, name `fire-zone-<floor>`, description the floor\'s name) and `detectorsPerZone` Life Safety Points in each (instance = zone × 100 + detector).',
        'LifeSafetyState: 0 quiet, 1 pre-alarm, 2 alarm, 3 fault, 4 fault-pre-alarm, 5 fault-alarm, 22 supervisory. Mode 11 enabled (Accepted_Modes 11, 12 disabled, 2 test). Silenced: 0 unsilenced, 1 audible-silenced, 2 visible-silenced, 3 all-silenced. Operation_Expected: 1 silence while an alarm sounds, 5 reset-alarm once silenced, else 0 none.',
        'Mapping (Notifier CLSS gateway manual): fire → alarm; pre-alarm → pre-alarm; trouble → fault with Reliability 7 unreliable-other and Event_State fault; supervisory → supervisory. Event_State 5 life-safety-alarm for alarm values, 2 offnormal for pre-alarm and supervisory. Present_Value latches an alarm until the fault is cleared (reset); Tracking_Value follows the smoke, which clears after a simulated minute.',
      ].join(' '),
      objects,
      show: (o) => o.type !== ObjectType.LIFE_SAFETY_POINT || Math.floor(o.instance / 100) === firstZone.instance,
      collapsed: `and ${detectorsPerZone} Life Safety Points for each further zone (instances zone × 100 + 1 … zone × 100 + ${detectorsPerZone}, names \`fire-zone-<floor>-detector-NN\`)`,
      faults: FIRE_PANEL_FAULTS,
      notes: [
        'Panel trouble, supervisory, common fire and silenced are Binary Inputs and a Multi-state Value: BACnet has no panel-level life-safety object, and the zone\'s Zone_Members cannot be encoded by the library.',
        ...LIBRARY_NOTES,
      ],
    });
  },
  async start({ site, device, seed, clock, log }) {
    const detectorsPerZone = Number(device.simulator?.params.detectorsPerZone ?? 4);
    const panel = new FirePanel({ site, detectorsPerZone, seed, now: clock.now() });
    return serve(device, 'fire-panel', FIRE_PANEL_MODEL_NAME, panel, log);
  },
};

export const ahuModel: SimulatorModel<BacnetDevice> = {
  name: 'ahu',
  protocol: 'bacnet-ip',
  description: 'Air-handling unit controller: sensors, commandable set points and outputs with priority arrays, a legacy mode without ReadPropertyMultiple',
  reference() {
    const { device } = demoDevice('ahu');
    const ahu = new AirHandlingUnit({ seed: 1, now: 0 });
    const objects: BacnetObject[] = [createDeviceObject(identityOf(device, AHU_MODEL_NAME), () => objects), ...ahu.objects];
    return renderReference({
      title: '`ahu` (BACnet/IP)',
      intro: [
        `Device ${device.instance} of the demo site (\`${device.id}\`, UDP ${device.port}); param \`legacy\` (boolean, default false) starts it in legacy mode.`,
        'Commandable objects (clause 19.2) take WriteProperty of Present_Value at priority 1–16 (16 when none is given; 6 is refused, write-access-denied); NULL relinquishes; Present_Value is the highest-priority non-NULL slot of Priority_Array, else Relinquish_Default.',
        'BACnetBinaryPV: 0 inactive, 1 active.',
      ].join(' '),
      objects,
      faults: AHU_FAULTS,
      notes: ['In legacy mode ReadPropertyMultiple gets Reject unrecognized-service (reason 9), as a controller without it answers; a gateway must fall back to ReadProperty.', ...LIBRARY_NOTES],
    });
  },
  async start({ device, seed, clock, log }) {
    const ahu = new AirHandlingUnit({ seed, now: clock.now(), legacy: device.simulator?.params.legacy === true });
    return serve(device, 'ahu', AHU_MODEL_NAME, ahu, log, () => !ahu.legacy);
  },
};
