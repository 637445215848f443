/** The demo's port plan, printed at start so a person can point mbpoll or an MQTT client at it. */
import type { Site } from '@vigil/model';
import type { Config } from './config.ts';

export function describePortPlan(config: Config, site: Site, busUrl: string): string {
  const lines = [
    `  HTTP (dashboard, API)  http://${config.host}:${config.httpPort}`,
    `  MQTT bus               ${busUrl}${config.mqttUrl ? '' : ' (embedded; accounts per component, see README)'}`,
  ];
  for (const d of site.devices) {
    const assets = [...new Set(d.points.map((p) => p.id.split('.')[0]))].join(', ');
    const where =
      d.protocol === 'modbus-tcp' ? `${d.host}:${d.port}`.padEnd(16) + ` unit ${d.unit}` : d.protocol === 'bacnet-ip' ? `${d.host}:${d.port}`.padEnd(16) + ` device ${d.instance}` : `${d.topic}/#`;
    lines.push(`  ${d.protocol.padEnd(10)} ${where}  ${d.id} (${assets})${d.simulator ? ` — simulated ${d.simulator.model}` : ''}`);
  }
  return lines.join('\n');
}
