/** The `vigil` command as a person runs it: real processes, exit codes, stdout and stderr. */
import { describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEMO_SITE_FILE } from '@vigil/model';
import { freePort, tempDir } from '../testing/index.ts';
import { startTestBroker } from '../testing/broker.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const vigil = (args: string[], opts: { input?: string; env?: Record<string, string> } = {}) =>
  spawnSync(process.execPath, ['bin/vigil.js', ...args], { cwd: root, encoding: 'utf8', input: opts.input, env: { ...process.env, ...opts.env }, timeout: 60_000 });

describe('vigil site check', () => {
  it('accepts the demo site and summarises it', () => {
    const res = vigil(['site', 'check', DEMO_SITE_FILE]);
    expect(res.status).toBe(0);
    expect(res.stdout).toMatch(/OK — site demo, 1 building\(s\), \d+ asset\(s\), \d+ device\(s\), \d+ point\(s\), \d+ detector\(s\)/);
  });

  it('rejects a bad file naming file, line and field, with exit code 1', () => {
    const dir = tempDir();
    const file = join(dir.path, 'bad.yaml');
    writeFileSync(file, readFileSync(DEMO_SITE_FILE, 'utf8').replace('port: 15022', 'port: 99999'));
    const res = vigil(['site', 'check', file]);
    dir.remove();
    expect(res.status).toBe(1);
    expect(res.stderr).toMatch(new RegExp(`${file.replace(/[.]/g, '\\.')}:\\d+:\\d+: devices\\[1\\]\\.port: `));
    expect(res.stderr).not.toMatch(/at .*\.ts:/); // a message, not a stack trace
  });
});

describe('vigil user add', () => {
  it('reads the password from stdin and refuses an unknown role', () => {
    const dir = tempDir();
    const ok = vigil(['user', 'add', 'li.ming', '--role', 'operator', '--name', 'Li Ming'], { input: 'a-strong-password\n', env: { VIGIL_DATA_DIR: dir.path } });
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stderr).toMatch(/user li\.ming \(operator\) saved/);
    const bad = vigil(['user', 'add', 'x', '--role', 'janitor'], { input: 'whatever-password\n', env: { VIGIL_DATA_DIR: dir.path } });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/unknown role 'janitor'; roles: operator, technician/);
    dir.remove();
  });
});

describe('vigil sim --json', () => {
  it('prints exactly one line of JSON with every endpoint, then keeps serving', async () => {
    const dir = tempDir();
    const site = join(dir.path, 'site.yaml');
    // Every device of the demo on a free port (UDP ones too, which freePort's TCP check approximates).
    const ports: number[] = [];
    let text = readFileSync(DEMO_SITE_FILE, 'utf8');
    for (const match of text.match(/port: \d+/g) ?? []) {
      const port = await freePort();
      ports.push(port);
      text = text.replace(match, `port: ${port}`);
    }
    const [p1, p2] = ports;
    writeFileSync(site, text);
    const child = spawn(process.execPath, ['bin/vigil.js', 'sim', '--json', '--site', site], { cwd: root, env: { ...process.env, VIGIL_DATA_DIR: dir.path } });
    try {
      let out = '';
      child.stdout.on('data', (c: Buffer) => (out += c.toString()));
      const firstLine = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no line within 30 s: ${out}`)), 30_000);
        child.stdout.on('data', () => {
          if (out.includes('\n')) {
            clearTimeout(timer);
            resolve(out.split('\n')[0]!);
          }
        });
      });
      const endpoints = JSON.parse(firstLine);
      expect(endpoints.slice(0, 2)).toEqual([
        { device: 'booster-1', protocol: 'modbus-tcp', host: '127.0.0.1', port: p1, unit: 1 },
        { device: 'booster-2', protocol: 'modbus-tcp', host: '127.0.0.1', port: p2, unit: 1 },
      ]);
      for (const e of endpoints) expect(Object.keys(e).sort()).toEqual(expect.arrayContaining(['device', 'host', 'port', 'protocol']));
      await new Promise((r) => setTimeout(r, 300));
      expect(child.exitCode).toBeNull();
      expect(out.trim().split('\n')).toHaveLength(1);
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
      dir.remove();
    }
  });
});

describe('vigil start with the demo site off loopback', () => {
  it('refuses, saying why', () => {
    const dir = tempDir();
    const res = vigil(['start'], { env: { VIGIL_DATA_DIR: dir.path, VIGIL_HOST: '0.0.0.0', VIGIL_HTTP_PORT: '1', VIGIL_MQTT_PORT: '2' } });
    dir.remove();
    expect(res.status).toBe(1);
    expect(res.stderr).toMatch(/demo site .* loopback only; found VIGIL_HOST=0\.0\.0\.0/);
  });
});

describe('vigil backup and restore', () => {
  it('saves the databases to one file and puts them back', () => {
    const dir = tempDir();
    const file = join(dir.path, 'vigil-backup.tar');
    const env = { VIGIL_DATA_DIR: join(dir.path, 'data') };
    const saved = vigil(['backup', file], { env });
    expect(saved.status, saved.stderr).toBe(0);
    expect(saved.stderr).toMatch(/^saved: /m);
    const restored = vigil(['restore', file], { env: { VIGIL_DATA_DIR: join(dir.path, 'restored') } });
    expect(restored.status, restored.stderr).toBe(0);
    expect(restored.stderr).toMatch(/^restored: /m);
    const bad = vigil(['restore', join(dir.path, 'missing.tar')], { env });
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/^vigil: /);
    expect(bad.stderr).not.toMatch(/\n\s+at /); // a message, not a stack trace
    dir.remove();
  });
});

describe('vigil sim fault and clear', () => {
  it('drive simulators running in another process, over the bus', async () => {
    const broker = await startTestBroker();
    const dir = tempDir();
    const site = join(dir.path, 'site.yaml');
    let text = readFileSync(DEMO_SITE_FILE, 'utf8');
    for (const match of text.match(/port: \d+/g) ?? []) text = text.replace(match, `port: ${await freePort()}`);
    writeFileSync(site, text);
    const env = { ...process.env, VIGIL_DATA_DIR: dir.path, VIGIL_MQTT_URL: broker.url };
    const sim = spawn(process.execPath, ['bin/vigil.js', 'sim', '--json', '--site', site], { cwd: root, env });
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('vigil sim did not start')), 30_000);
        sim.stdout.once('data', () => (clearTimeout(timer), resolve()));
      });
      const run = (args: string[]) =>
        new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
          const child = spawn(process.execPath, ['bin/vigil.js', ...args, '--site', site], { cwd: root, env });
          let stdout = '';
          let stderr = '';
          child.stdout.on('data', (c: Buffer) => (stdout += c));
          child.stderr.on('data', (c: Buffer) => (stderr += c));
          child.on('exit', (status) => resolve({ status, stdout, stderr }));
        });
      const injected = await run(['sim', 'fault', 'lift-2-ctl', 'door-fault']);
      expect(injected.status, injected.stderr).toBe(0);
      expect(JSON.parse(injected.stdout).faults.find((f: { name: string }) => f.name === 'door-fault').active).toBe(true);
      const cleared = await run(['sim', 'clear', 'lift-2-ctl', 'door-fault']);
      expect(JSON.parse(cleared.stdout).faults.find((f: { name: string }) => f.name === 'door-fault').active).toBe(false);
      const unknown = await run(['sim', 'fault', 'lift-2-ctl', 'meltdown']);
      expect(unknown.status).toBe(1);
      expect(unknown.stderr).toMatch(/not-found/);
    } finally {
      sim.kill('SIGTERM');
      await new Promise((r) => sim.once('exit', r));
      await broker.stop();
      dir.remove();
    }
  }, 90_000);
});
