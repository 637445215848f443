/**
 * Drives simulators over the bus, wherever they run (`vigil start` or a separate `vigil sim`): one
 * request on `vigil/v1/<site>/sim/<device>/inject|clear`, its answer on `…/reply` (DESIGN.md,
 * "Bus topics"). Used by `vigil sim fault|clear` and by scenarios run against remote simulators.
 */
import { randomUUID, randomBytes } from 'node:crypto';
import mqtt from 'mqtt';
import { ID_PATTERN, simReply, simRequest, topics, type BusOptions, type SimReply } from '@vigil/model';
import type { FaultParams } from '../device.ts';
import { SimError } from '../errors.ts';
import type { ScenarioTarget } from './engine.ts';

export interface SimCommand {
  bus: BusOptions;
  site: string;
  device: string;
  action: 'inject' | 'clear';
  fault: string;
  params?: FaultParams;
  /** How long to wait for the reply (default 5 s, like the API's commands). */
  timeoutMs?: number;
}

/** No simulator answered in time (none serves the device, or none runs). */
export class SimCommandTimeout extends Error {
  readonly code = 'timeout';
  constructor(command: SimCommand, timeoutMs: number) {
    super(`no simulator answered '${command.action} ${command.fault}' for device '${command.device}' on site '${command.site}' within ${timeoutMs} ms: is \`vigil sim\` (or \`vigil start\`) running with this site and bus?`);
    this.name = 'SimCommandTimeout';
  }
}

const idPattern = new RegExp(ID_PATTERN);

/**
 * Sends one fault request and resolves with the simulator's reply (`ok` false with an error code
 * when it refused). Rejects with SimError 'invalid' before sending anything malformed, and with
 * SimCommandTimeout when nobody answers.
 */
export async function sendSimCommand(command: SimCommand): Promise<SimReply> {
  const { bus, site, device, action, fault, params } = command;
  const timeoutMs = command.timeoutMs ?? 5000;
  // Ids become topic levels: a '/', '+' or '#' would address something else entirely.
  if (!idPattern.test(site)) throw new SimError('invalid', `site id '${site}' is not a valid id`);
  if (!idPattern.test(device)) throw new SimError('invalid', `device id '${device}' is not a valid id`);
  const request = { id: randomUUID(), fault, ...(params ? { params } : {}) };
  const checked = simRequest.check(request);
  if (!checked.ok) throw new SimError('invalid', `bad sim request: ${checked.error}`);

  const client = await mqtt.connectAsync(bus.url, {
    username: bus.username,
    password: bus.password,
    clientId: `vigil-simctl-${randomBytes(4).toString('hex')}`,
    reconnectPeriod: 0,
    connectTimeout: timeoutMs,
  });
  try {
    const reply = new Promise<SimReply>((resolve) => {
      client.on('message', (_topic, payload) => {
        const decoded = simReply.decode(payload);
        // Replies to other requests share the topic; anything else there is not ours to judge.
        if (decoded.ok && decoded.value.id === request.id) resolve(decoded.value);
      });
    });
    await client.subscribeAsync(topics.simReply(site, device), { qos: 1 });
    const topic = action === 'inject' ? topics.simInject(site, device) : topics.simClear(site, device);
    await client.publishAsync(topic, simRequest.encode(checked.value), { qos: 1 });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new SimCommandTimeout(command, timeoutMs)), timeoutMs);
    });
    try {
      return await Promise.race([reply, timeout]);
    } finally {
      clearTimeout(timer);
    }
  } finally {
    await client.endAsync(true);
  }
}

/**
 * Simulators reached over the bus, as a scenario target: each step becomes one request, and a
 * refused request fails the step with the simulator's own message.
 */
export function remoteSimulators(opts: { bus: BusOptions; site: string; timeoutMs?: number }): ScenarioTarget {
  const send = async (action: 'inject' | 'clear', device: string, fault: string, params?: FaultParams) => {
    const reply = await sendSimCommand({ ...opts, device, action, fault, params });
    if (!reply.ok) throw new SimError(reply.error?.code ?? 'invalid', reply.error?.message ?? `${action} ${fault} refused`);
    return reply;
  };
  return {
    inject: (device, fault, params) => send('inject', device, fault, params),
    clear: (device, fault) => send('clear', device, fault),
  };
}
