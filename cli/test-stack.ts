/** Test support: the whole demo stack in-process, on ports chosen at run time. */
import { pino } from 'pino';
import { DEMO_SITE_FILE, loadSiteFile, localMinutes, type Site } from '@vigil/model';
import { createSimClock } from '@vigil/simulators';
import { freePort, tempDir, useFreePorts } from '../testing/index.ts';
import { loadConfig, type Config } from './config.ts';
import { startStack, type Stack, type StackOverrides } from './stack.ts';

export interface TestStack {
  stack: Stack;
  site: Site;
  config: Config;
  url: string;
  /** Signs in a demo user and returns its token. */
  login(username: string): Promise<string>;
  /** fetch against the API with a token; the body is sent as JSON. */
  call(token: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }>;
  close(): Promise<void>;
}

/** Today's instant at a local time of day in a time zone (to the minute). */
export function todayAt(timeZone: string, hour: number, now = Date.now()): number {
  const base = Math.floor(now / 60_000) * 60_000;
  const offsetMin = (hour * 60 - localMinutes(base, timeZone) + 1440) % 1440;
  return base + offsetMin * 60_000 - 1440 * 60_000 * (offsetMin > 720 ? 1 : 0);
}

/**
 * The demo stack on run-time ports. The simulators run at 10:00 site time whatever the real hour,
 * because the plant follows the time of day (how many booster pumps run, lift traffic, doors).
 */
export async function startTestStack(env: Record<string, string> = {}, overrides: StackOverrides = {}): Promise<TestStack> {
  const dir = tempDir();
  const site = loadSiteFile(DEMO_SITE_FILE);
  await useFreePorts(site);
  const config = loadConfig({
    VIGIL_DATA_DIR: dir.path,
    VIGIL_HTTP_PORT: String(await freePort()),
    VIGIL_MQTT_PORT: String(await freePort()),
    ...env,
  });
  const stack = await startStack(config, site, pino({ level: process.env.VIGIL_TEST_LOG ?? 'silent' }), { simClock: createSimClock({ start: todayAt(site.site.timezone, 10) }), ...overrides });
  const call: TestStack['call'] = async (token, method, path, body) => {
    const res = await fetch(stack.url + path, {
      method,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  };
  return {
    stack,
    site,
    config,
    url: stack.url,
    call,
    async login(username) {
      const res = await call('', 'POST', '/api/auth/login', { username, password: 'vigil-demo' });
      if (res.status !== 200) throw new Error(`login ${username}: ${res.status} ${JSON.stringify(res.body)}`);
      return res.body.token as string;
    },
    async close() {
      await stack.close();
      dir.remove();
    },
  };
}
