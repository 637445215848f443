/**
 * Interop with a broker nobody here wrote: Debian's Mosquitto as the bus, configured as in
 * docker-compose.yml (no anonymous clients, one account per component, the generated ACL file,
 * persistence off), carries the pump fault from simulator to ticket; mosquitto_sub watches it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, execFile, execFileSync, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { userInfo } from 'node:os';
import { fileURLToPath } from 'node:url';
import { freePort, peer, tempDir, eventually } from '../testing/index.ts';
import { startTestStack, type TestStack } from './test-stack.ts';

const mosquitto = peer('mosquitto', 'mosquitto');
const mosquittoPasswd = peer('mosquitto_passwd', 'mosquitto');
const mosquittoSub = peer('mosquitto_sub', 'mosquitto-clients');
const aclFile = fileURLToPath(new URL('../deploy/mosquitto/acl', import.meta.url));
const roles = ['gateway', 'ingest', 'api', 'sim'] as const;
const run = promisify(execFile);

describe.skipIf(!mosquitto.ok || !mosquittoPasswd.ok || !mosquittoSub.ok)('with Mosquitto as the bus', () => {
  const dir = tempDir('vigil-mosquitto-');
  let broker: ChildProcess;
  let port: number;
  let t: TestStack;
  const password = (role: string) => `pw-${role}-0123456789`;

  beforeAll(async () => {
    port = await freePort();
    const passwd = join(dir.path, 'passwd');
    for (const [i, role] of roles.entries()) {
      execFileSync(mosquittoPasswd.path, [...(i === 0 ? ['-c'] : []), '-b', passwd, `vigil-${role}`, password(role)]);
    }
    const conf = join(dir.path, 'mosquitto.conf');
    writeFileSync(
      conf,
      [
        // Started as root, Mosquitto drops to user 'mosquitto', who cannot read our private temp dir.
        `user ${userInfo().username}`,
        `listener ${port} 127.0.0.1`, 'allow_anonymous false', `password_file ${passwd}`, `acl_file ${aclFile}`, 'persistence false', 'set_tcp_nodelay true', 'max_inflight_messages 1', 'max_queued_messages 10000', ''].join('\n'),
    );
    broker = spawn(mosquitto.path, ['-c', conf], { stdio: 'ignore' });
    await eventually(
      () =>
        new Promise<boolean>((resolve) => {
          const probe = spawn(mosquittoSub.path, ['-h', '127.0.0.1', '-p', String(port), '-u', 'vigil-api', '-P', password('api'), '-t', 'vigil/v1/demo/alarms', '-W', '1', '-C', '1']);
          probe.on('exit', (code) => resolve(code !== null && code !== 1));
        }),
      10_000,
      200,
    );
    const url = `mqtt://127.0.0.1:${port}`;
    t = await startTestStack({ VIGIL_MQTT_URL: url }, { bus: (role) => ({ url, username: `vigil-${role}`, password: password(role) }) });
  }, 60_000);

  afterAll(async () => {
    await t?.close();
    broker?.kill('SIGTERM');
    dir.remove();
  });

  it('carries telemetry that mosquitto_sub can read', async () => {
    // Asynchronously: the stack publishing the telemetry runs in this very process.
    const { stdout: out } = await run(mosquittoSub.path, ['-h', '127.0.0.1', '-p', String(port), '-u', 'vigil-ingest', '-P', password('ingest'), '-t', 'vigil/v1/demo/telemetry/+', '-C', '1', '-W', '10']);
    const batch = JSON.parse(out);
    expect(batch).toMatchObject({ gateway: 'gw-1' });
    expect(t.site.devices.map((d) => d.id)).toContain(batch.device);
    expect(batch.seq).toBeGreaterThan(0);
    expect(batch.samples.length).toBeGreaterThan(0);
  });

  it('turns an injected fault into an alarm and an assigned ticket', async () => {
    const engineer = await t.login('engineer');
    const operator = await t.login('operator');
    await eventually(async () => (await t.call(engineer, 'GET', '/api/simulators')).body?.devices?.some((d: { device: string }) => d.device === 'booster-1'), 10_000);
    expect((await t.call(engineer, 'POST', '/api/simulators/booster-1/faults', { fault: 'cavitation' })).status).toBe(200);
    const alarm = await eventually(async () => (await t.call(operator, 'GET', '/api/alarms?state=active')).body.alarms.find((a: { asset: string }) => a.asset === 'pump-b1-1'), 10_000);
    expect(alarm.state).toBe('unacknowledged-active');
    const ticket = await eventually(async () => (await t.call(operator, 'GET', '/api/tickets')).body.tickets.find((x: { asset: string }) => x.asset === 'pump-b1-1'), 5000);
    expect(['technician', 'technician2']).toContain(ticket.assignee);
  });

  it('enforces the ACL: the gateway account cannot read alarms', () => {
    // Mosquitto accepts the subscription but delivers nothing the ACL denies: wait for a retained
    // message that the api account can see and the gateway account cannot.
    const asApi = execFileSync(mosquittoSub.path, ['-h', '127.0.0.1', '-p', String(port), '-u', 'vigil-api', '-P', password('api'), '-t', 'vigil/v1/demo/health/ingest', '-C', '1', '-W', '5'], { encoding: 'utf8' });
    expect(JSON.parse(asApi).component).toBe('ingest');
    let asGateway = '';
    try {
      asGateway = execFileSync(mosquittoSub.path, ['-h', '127.0.0.1', '-p', String(port), '-u', 'vigil-gateway', '-P', password('gateway'), '-t', 'vigil/v1/demo/health/ingest', '-C', '1', '-W', '2'], { encoding: 'utf8' });
    } catch {
      // mosquitto_sub exits non-zero on its -W time-out: nothing was delivered.
    }
    expect(asGateway).toBe('');
  });
});
