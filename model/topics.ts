/** MQTT topic names of the Vigil bus (DESIGN.md, "Bus topics"). One place builds and parses them. */
const ROOT = 'vigil/v1';

export const topics = {
  telemetry: (site: string, device: string) => `${ROOT}/${site}/telemetry/${device}`,
  events: (site: string, device: string) => `${ROOT}/${site}/events/${device}`,
  acks: (site: string, gateway: string) => `${ROOT}/${site}/acks/${gateway}`,
  status: (site: string, gateway: string) => `${ROOT}/${site}/status/${gateway}`,
  command: (site: string, kind: string) => `${ROOT}/${site}/commands/${kind}`,
  commandResult: (site: string, id: string) => `${ROOT}/${site}/commands/result/${id}`,
  alarms: (site: string) => `${ROOT}/${site}/alarms`,
  tickets: (site: string) => `${ROOT}/${site}/tickets`,
  simCatalog: (site: string) => `${ROOT}/${site}/sim/catalog`,
  simInject: (site: string, device: string) => `${ROOT}/${site}/sim/${device}/inject`,
  simClear: (site: string, device: string) => `${ROOT}/${site}/sim/${device}/clear`,
  simReply: (site: string, device: string) => `${ROOT}/${site}/sim/${device}/reply`,
  /** Subscription filters. */
  all: {
    telemetry: (site: string) => `${ROOT}/${site}/telemetry/+`,
    events: (site: string) => `${ROOT}/${site}/events/+`,
    status: (site: string) => `${ROOT}/${site}/status/+`,
    commands: (site: string) => `${ROOT}/${site}/commands/+`,
    commandResults: (site: string) => `${ROOT}/${site}/commands/result/+`,
    simRequests: (site: string) => `${ROOT}/${site}/sim/+/+`,
    simReplies: (site: string) => `${ROOT}/${site}/sim/+/reply`,
  },
} as const;

export interface ParsedTopic {
  site: string;
  /** `telemetry`, `events`, `acks`, `status`, `commands`, `alarms`, `tickets` or `sim`. */
  kind: string;
  /** The levels after the kind (device, gateway, command kind …). */
  rest: string[];
}

/** Splits a Vigil topic; null for anything outside `vigil/v1/`. */
export function parseTopic(topic: string): ParsedTopic | null {
  const levels = topic.split('/');
  if (levels.length < 4 || levels[0] !== 'vigil' || levels[1] !== 'v1') return null;
  return { site: levels[2]!, kind: levels[3]!, rest: levels.slice(4) };
}

/** `vigil/v1/<site>/health/<component>` (retained, with a last will): `ingest`, `api`, `sim` … report here. */
export const healthTopic = (site: string, component: string) => `${ROOT}/${site}/health/${component}`;
export const healthTopicFilter = (site: string) => `${ROOT}/${site}/health/+`;
