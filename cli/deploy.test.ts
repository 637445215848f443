import { describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { peer } from '../testing/index.ts';
import { deployAcl } from './write-mosquitto-acl.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const compose = peer('docker-compose', 'docker-compose');
const secrets = { VIGIL_MQTT_GATEWAY_PASSWORD: 'gw-secret', VIGIL_MQTT_INGEST_PASSWORD: 'ingest-secret', VIGIL_MQTT_API_PASSWORD: 'api-secret', VIGIL_SECRET: 'a-long-enough-signing-secret', VIGIL_INFLUX_PASSWORD: 'influx-secret', VIGIL_INFLUX_TOKEN: 'influx-token' };

describe('deployment files', () => {
  it('the Mosquitto ACL file is the one generated from the bus ACL table', () => {
    expect(readFileSync(`${root}/deploy/mosquitto/acl`, 'utf8')).toBe(deployAcl());
  });

  describe.skipIf(!compose.ok)('docker-compose.yml', () => {
    it('validates with docker-compose config, and its commands are vigil commands', () => {
      const out = execFileSync(compose.path, ['-f', 'docker-compose.yml', 'config'], { cwd: root, env: { ...process.env, ...secrets }, encoding: 'utf8' });
      const config = parse(out) as { services: Record<string, { command?: string[]; environment?: Record<string, string>; healthcheck?: unknown }> };
      expect(Object.keys(config.services).sort()).toEqual(['api', 'gateway', 'influxdb', 'ingest', 'mosquitto', 'mqtt-passwords']);
      // Ingest and the API read time series from InfluxDB 2 in a deployment.
      for (const role of ['ingest', 'api'] as const) expect(config.services[role]!.environment).toMatchObject({ VIGIL_INFLUX_URL: 'http://influxdb:8086', VIGIL_INFLUX_BUCKET: 'vigil' });
      for (const role of ['gateway', 'ingest', 'api'] as const) {
        const service = config.services[role]!;
        expect(service.command).toEqual([role]);
        expect(service.environment).toMatchObject({ VIGIL_MQTT_URL: 'mqtt://mosquitto:1883', VIGIL_MQTT_USERNAME: `vigil-${role}` });
        expect(service.healthcheck).toBeDefined();
      }
      // The same commands the tests run must exist in the CLI.
      const help = execFileSync(process.execPath, ['bin/vigil.js', 'help'], { cwd: root, encoding: 'utf8' });
      for (const role of ['gateway', 'ingest', 'api', 'start', 'sim']) expect(help).toMatch(new RegExp(`^  ${role}\\b`, 'm'));
    });

    it('refuses to start without the passwords, saying which', () => {
      const env = { ...process.env };
      for (const k of Object.keys(secrets)) delete env[k];
      const res = spawnSync(compose.path, ['-f', 'docker-compose.yml', 'config'], { cwd: root, env, encoding: 'utf8' });
      expect(res.status).not.toBe(0);
      expect(res.stderr).toMatch(/set VIGIL_/);
    });
  });
});
