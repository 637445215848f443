/** Every route through app.inject, with a real embedded broker and small bus peers standing in for ingest and the simulators. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { MqttClient } from 'mqtt';
import { ROLES, can, componentHealth, healthTopic, topics, type Permission, type Role, type SimCatalog } from '@vigil/model';
import { eventually } from '../testing/index.ts';
import { API_ERRORS, buildApi, DEMO_PASSWORD } from './index.ts';
import { UserStore } from './store.ts';
import { signToken } from './tokens.ts';
import { alarm, busClient, demoSite, memoryReader, SECRET, silent, startBroker, tempDir, ticket } from './testbed.ts';

const SITE = demoSite.site.id;
const NOW = Date.now();

const reader = memoryReader({
  alarms: [
    alarm({ id: 'a-low', priority: 4, raisedAt: NOW - 1000 }),
    alarm({ id: 'a-old-high', priority: 2, raisedAt: NOW - 5000 }),
    alarm({ id: 'a-new-high', priority: 2, raisedAt: NOW - 100 }),
    alarm({ id: 'a-crit', priority: 1, raisedAt: NOW - 9000, state: 'acknowledged-active' }),
    alarm({ id: 'a-normal', priority: 1, state: 'normal', conditionActive: false }),
  ],
  tickets: [
    ticket({ id: 't-mine', assignee: 'technician' }),
    ticket({ id: 't-other', number: 'T-000002', assignee: 'technician2' }),
    ticket({ id: 't-sec', number: 'T-000003', department: 'security', assignee: 'security' }),
  ],
  samples: [
    { point: 'pump-b1-1.speed', ts: NOW - 2000, value: 80, quality: 'good' },
    { point: 'pump-b1-1.speed', ts: NOW - 1000, value: 81.5, quality: 'good' },
    { point: 'pump-b1-1.speed', ts: NOW - 500, value: null, quality: 'bad', reason: 'timeout' },
  ],
});

const catalog: SimCatalog = {
  ts: NOW,
  devices: [
    {
      device: 'booster-1',
      protocol: 'modbus-tcp',
      host: '127.0.0.1',
      port: 15021,
      unit: 1,
      model: 'booster-pump',
      faults: [{ name: 'cavitation', description: 'suction starved: pressure falls and fluctuates', active: false }],
    },
  ],
};

let app: FastifyInstance;
let broker: Awaited<ReturnType<typeof startBroker>>;
let peerBus: MqttClient;
let dir: ReturnType<typeof tempDir>;
const tokens = {} as Record<Role | 'technician2', string>;

async function login(username: string, password = DEMO_PASSWORD) {
  return app.inject({ method: 'POST', url: '/api/auth/login', payload: { username, password } });
}
const auth = (token: string) => ({ authorization: `Bearer ${token}` });

beforeAll(async () => {
  broker = await startBroker();
  dir = tempDir();
  app = await buildApi({
    site: demoSite,
    bus: { url: broker.url },
    dataDir: dir.path,
    host: '127.0.0.1',
    port: 0,
    log: silent,
    secret: SECRET,
    demoUsers: true,
    reader,
    commandTimeoutMs: 400,
  });
  peerBus = await busClient(broker.url);

  // Ingest's side of the commands: answers by the target's id.
  await peerBus.subscribeAsync([topics.all.commands(SITE)], { qos: 1 });
  // The simulators' side of fault injection.
  await peerBus.subscribeAsync(topics.all.simRequests(SITE), { qos: 1 });
  peerBus.on('message', (topic, payload) => {
    const msg = JSON.parse(payload.toString()) as Record<string, unknown> & { id: string };
    const answer = (body: object) => void peerBus.publish(topics.commandResult(SITE, msg.id), JSON.stringify({ id: msg.id, ...body }), { qos: 1 });
    if (topic === topics.command(SITE, 'alarm-ack')) {
      const id = msg.alarmId as string;
      if (id === 'a-silent') return;
      if (id === 'a-conflict') return answer({ ok: false, error: { code: 'conflict', message: 'the alarm is already acknowledged' } });
      if (id === 'a-missing') return answer({ ok: false, error: { code: 'not-found', message: `no alarm ${id}` } });
      return answer({ ok: true, result: alarm({ id, state: 'acknowledged-active', ackedBy: msg.user as string, ackedAt: Date.now() }) });
    }
    const kind = topic.split('/').at(-1)!;
    if (['alarm-shelve', 'alarm-unshelve', 'alarm-reset', 'alarm-comment'].includes(kind)) {
      const id = msg.alarmId as string;
      if (id === 'a-missing') return answer({ ok: false, error: { code: 'not-found', message: `no alarm ${id}` } });
      if (kind === 'alarm-reset' && id === 'a-conflict') return answer({ ok: false, error: { code: 'conflict', message: 'a latching alarm is reset after it is acknowledged' } });
      const state = kind === 'alarm-shelve' ? 'shelved' : 'unacknowledged-active';
      return answer({ ok: true, result: alarm({ id, state, ...(kind === 'alarm-shelve' ? { shelvedBy: msg.user as string, shelvedUntil: msg.until as number, shelveReason: msg.reason as string } : {}) }) });
    }
    if (kind === 'asset-maintenance' || kind === 'asset-out-of-service') {
      const on = msg.on as boolean;
      return answer({ ok: true, result: { mode: { asset: msg.asset, maintenance: kind === 'asset-maintenance' && on, outOfService: kind === 'asset-out-of-service' && on, changedAt: Date.now(), changedBy: msg.user }, alarms: [] } });
    }
    if (topic === topics.command(SITE, 'ticket-move')) {
      return answer({ ok: true, result: { ticket: ticket({ id: msg.ticketId as string, status: msg.to as 'accepted' }) } });
    }
    const [, , , , device, action] = topic.split('/');
    if (action === 'reply' || action === 'catalog') return;
    const reply = (body: object) => void peerBus.publish(topics.simReply(SITE, device!), JSON.stringify({ id: msg.id, ...body }), { qos: 1 });
    if (msg.fault !== 'cavitation') return reply({ ok: false, error: { code: 'invalid', message: `unknown fault ${String(msg.fault)}` } });
    const dev = catalog.devices[0]!;
    reply({ ok: true, device: { ...dev, faults: [{ ...dev.faults[0]!, active: action === 'inject' }] } });
  });

  for (const username of [...ROLES, 'technician2'] as const) {
    const res = await login(username);
    expect(res.statusCode, username).toBe(200);
    tokens[username] = res.json().token;
  }
  // The API subscribes once it is connected; commands need that.
  await eventually(async () => (await app.inject({ url: '/api/health' })).json().components.bus.status === 'up');
});

afterAll(async () => {
  await app?.close();
  await peerBus?.endAsync();
  await broker?.close();
  dir?.remove();
});

describe('health', () => {
  it('is 503 while ingest was never seen, and 200 once its retained health says up', async () => {
    const before = await app.inject({ url: '/api/health' });
    expect(before.statusCode).toBe(503);
    expect(before.json()).toMatchObject({ status: 'degraded', components: { api: { status: 'up' }, bus: { status: 'up' }, ingest: { status: 'down', ts: null } } });

    const ts = Date.now();
    await peerBus.publishAsync(healthTopic(SITE, 'ingest'), componentHealth.encode({ component: 'ingest', status: 'up', ts }), { qos: 1, retain: true });
    const device = { state: 'online', since: ts, polls: 12, errors: { timeout: 1, exception: 0, 'comm-lost': 0 }, latencyMs: { avg: 8.5, max: 31 } };
    const outbox = { batches: 3, samples: 90, oldestTs: ts - 5000, dropped: 40, bytes: 4096, inFlight: 1 };
    const metrics = { polls: 12, errors: { timeout: 1, exception: 0, 'comm-lost': 0 }, batchesPublished: 9, batchesResent: 1, batchesAcknowledged: 6, samplesAcknowledged: 180 };
    await peerBus.publishAsync(topics.status(SITE, 'gw-1'), JSON.stringify({ gateway: 'gw-1', online: true, ts, devices: { 'booster-1': device }, outbox, metrics }), { qos: 1, retain: true });
    const after = await eventually(async () => {
      const res = await app.inject({ url: '/api/health' });
      return res.statusCode === 200 && Object.keys(res.json().components.gateways).length > 0 ? res : null;
    });
    expect(after.json()).toMatchObject({
      status: 'ok',
      components: { ingest: { status: 'up', ts }, gateways: { 'gw-1': { online: true, devices: { 'booster-1': device }, outbox, metrics } } },
    });
  });
});

/** Every route behind a token, with the permission it needs. */
const PROTECTED: { method: 'GET' | 'POST' | 'DELETE'; url: string; permission?: Permission; payload?: object }[] = [
  { method: 'GET', url: '/api/me' },
  { method: 'GET', url: '/api/assets', permission: 'assets:read' },
  { method: 'GET', url: '/api/points/pump-b1-1.speed/latest', permission: 'points:read' },
  { method: 'GET', url: '/api/points/pump-b1-1.speed/history', permission: 'points:read' },
  { method: 'GET', url: '/api/alarms', permission: 'alarms:read' },
  { method: 'POST', url: '/api/alarms/a-low/ack', permission: 'alarms:ack', payload: {} },
  { method: 'POST', url: '/api/alarms/a-low/shelve', permission: 'alarms:shelve', payload: { reason: 'sensor replaced', until: NOW + 3_600_000 } },
  { method: 'POST', url: '/api/alarms/a-low/unshelve', permission: 'alarms:shelve', payload: {} },
  { method: 'POST', url: '/api/alarms/a-low/reset', permission: 'alarms:reset', payload: {} },
  { method: 'POST', url: '/api/alarms/a-low/comment', permission: 'alarms:comment', payload: { text: 'seen' } },
  { method: 'GET', url: '/api/alarms/system', permission: 'alarms:read' },
  { method: 'POST', url: '/api/assets/pump-b1-1/maintenance', permission: 'assets:maintain', payload: { on: true } },
  { method: 'POST', url: '/api/assets/pump-b1-1/out-of-service', permission: 'assets:maintain', payload: { on: true, reason: 'decommissioned' } },
  { method: 'GET', url: '/api/tickets', permission: 'tickets:read' },
  { method: 'POST', url: '/api/tickets/t-mine/move', permission: 'tickets:work', payload: { to: 'accepted' } },
  { method: 'GET', url: '/api/simulators', permission: 'simulators:read' },
  { method: 'POST', url: '/api/simulators/booster-1/faults', permission: 'simulators:control', payload: { fault: 'cavitation' } },
  { method: 'DELETE', url: '/api/simulators/booster-1/faults/cavitation', permission: 'simulators:control' },
];

describe.each(PROTECTED)('$method $url', (route) => {
  const send = (headers: Record<string, string> = {}) => app.inject({ method: route.method, url: route.url, headers, ...(route.payload ? { payload: route.payload } : {}) });

  it('is 401 without a token', async () => {
    const res = await send();
    expect(res.statusCode).toBe(401);
    expect(res.json()).toEqual({ error: { code: 'VIGIL_ERR_UNAUTHORIZED', message: expect.any(String) } });
  });

  it('is 401 with a bad, a foreign or an expired token', async () => {
    const now = Date.now();
    const bad = ['garbage', `${tokens.admin}x`, signToken('another-secret-0123456789', { sub: 'admin', role: 'admin', iat: now, exp: now + 60_000 }), signToken(SECRET, { sub: 'admin', role: 'admin', iat: now - 20_000, exp: now - 1 })];
    for (const token of bad) {
      const res = await send(auth(token));
      expect(res.statusCode, token).toBe(401);
      expect(res.json().error.code).toBe('VIGIL_ERR_UNAUTHORIZED');
    }
  });

  const lacking = route.permission ? ROLES.filter((r) => !can(r, route.permission!)) : [];
  // Only where some role lacks the permission (every role may read assets, points, alarms and tickets).
  if (lacking.length > 0)
    it(`is 403 for ${lacking.join(', ')}`, async () => {
    for (const role of lacking) {
      const res = await send(auth(tokens[role]));
      expect(res.statusCode, role).toBe(403);
      expect(res.json().error.code).toBe('VIGIL_ERR_FORBIDDEN');
    }
  });
});

describe('auth', () => {
  it('logs in and tells who the token belongs to', async () => {
    const res = await login('operator');
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.user).toEqual({ username: 'operator', name: 'Demo Operator', role: 'operator' });
    expect(body.expiresAt).toBeGreaterThan(Date.now() + 11 * 3600_000);
    const me = await app.inject({ url: '/api/me', headers: auth(body.token) });
    expect(me.json()).toEqual({ username: 'operator', name: 'Demo Operator', role: 'operator' });
  });

  it('answers 401 for a wrong password or an unknown user, without saying which', async () => {
    for (const [u, p] of [['operator', 'wrong-password'], ['nobody', DEMO_PASSWORD]] as const) {
      const res = await login(u, p);
      expect(res.statusCode).toBe(401);
      expect(res.json()).toEqual({ error: { code: 'VIGIL_ERR_BAD_CREDENTIALS', message: 'unknown user or wrong password' } });
    }
  });

  it('locks a username out after 5 failures, even for the right password', async () => {
    for (let i = 0; i < 5; i++) expect((await login('manager', `bad-password-${i}`)).statusCode).toBe(401);
    const locked = await login('manager');
    expect(locked.statusCode).toBe(429);
    expect(locked.json().error.code).toBe('VIGIL_ERR_LOCKED_OUT');
    expect(Number(locked.headers['retry-after'])).toBeGreaterThan(0);
    // Only that name: others still log in.
    expect((await login('engineer')).statusCode).toBe(200);
  });

  it('names the missing or malformed field', async () => {
    const noPassword = await app.inject({ method: 'POST', url: '/api/auth/login', payload: { username: 'operator' } });
    expect(noPassword.statusCode).toBe(400);
    expect(noPassword.json().error).toMatchObject({ code: 'VIGIL_ERR_BAD_REQUEST', field: 'password' });
    const numberName = await app.inject({ method: 'POST', url: '/api/auth/login', payload: { username: { $ne: 1 }, password: 'x' } });
    expect(numberName.json().error).toMatchObject({ code: 'VIGIL_ERR_BAD_REQUEST', field: 'username' });
  });
});

describe('assets and points', () => {
  it('lists the site model', async () => {
    const res = await app.inject({ url: '/api/assets', headers: auth(tokens.manager) });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.site).toEqual({ id: 'demo', name: 'Vigil Demo Tower', timezone: 'Asia/Shanghai' });
    expect(body.assets).toHaveLength(demoSite.assets.length);
    expect(body.assets[0]).toMatchObject({ id: 'pump-b1-1', class: 'pump', building: 'tower', floor: 'b1', department: 'technical', criticality: 'high' });
    expect(body.assets[0].points).toContainEqual({ id: 'pump-b1-1.discharge_pressure', unit: 'MPa', tags: ['discharge', 'pressure', 'sensor'] });
    // The allowlist: protocol details of the point never reach the browser.
    expect(JSON.stringify(body)).not.toContain('modbus');
  });

  it('answers the latest value, and 404 for an unknown point or one without a value', async () => {
    const latest = await app.inject({ url: '/api/points/pump-b1-1.speed/latest', headers: auth(tokens.operator) });
    expect(latest.json()).toEqual({ point: 'pump-b1-1.speed', ts: NOW - 500, value: null, quality: 'bad', reason: 'timeout' });
    for (const url of ['/api/points/nope.speed/latest', '/api/points/pump-b1-2.speed/latest', '/api/points/nope.speed/history']) {
      const res = await app.inject({ url, headers: auth(tokens.operator) });
      expect(res.statusCode, url).toBe(404);
      expect(res.json().error.code).toBe('VIGIL_ERR_NOT_FOUND');
    }
  });

  it('answers history within from/to and limit', async () => {
    const res = await app.inject({ url: `/api/points/pump-b1-1.speed/history?from=${NOW - 1500}&to=${NOW}&limit=1`, headers: auth(tokens.operator) });
    expect(res.json()).toEqual({ point: 'pump-b1-1.speed', resolution: 'raw', samples: [{ ts: NOW - 1000, value: 81.5, quality: 'good' }] });
    const lastHour = await app.inject({ url: '/api/points/pump-b1-1.speed/history', headers: auth(tokens.operator) });
    expect(lastHour.json().samples).toHaveLength(3);
  });

  it.each([
    ['from=abc', 'from'],
    ['to=yesterday', 'to'],
    [`from=${NOW}&to=${NOW - 1}`, 'from'],
    ['limit=0', 'limit'],
    ['limit=10001', 'limit'],
    ['buckets=0', 'buckets'],
    ['buckets=10001', 'buckets'],
  ])('rejects history?%s naming %s', async (query, field) => {
    const res = await app.inject({ url: `/api/points/pump-b1-1.speed/history?${query}`, headers: auth(tokens.operator) });
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toMatchObject({ code: 'VIGIL_ERR_BAD_REQUEST', field });
  });
});

describe('alarms', () => {
  it('lists active alarms by priority, then newest; all; one state', async () => {
    const ids = async (q: string) => (await app.inject({ url: `/api/alarms${q}`, headers: auth(tokens.operator) })).json().alarms.map((a: { id: string }) => a.id);
    expect(await ids('')).toEqual(['a-crit', 'a-new-high', 'a-old-high', 'a-low']);
    expect(await ids('?state=active')).toEqual(['a-crit', 'a-new-high', 'a-old-high', 'a-low']);
    expect(await ids('?state=all')).toHaveLength(5);
    expect(await ids('?state=acknowledged-active')).toEqual(['a-crit']);
    const bad = await app.inject({ url: '/api/alarms?state=bogus', headers: auth(tokens.operator) });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.field).toBe('state');
  });

  it('acks through a bus command and audits it', async () => {
    const res = await app.inject({ method: 'POST', url: '/api/alarms/a-low/ack', headers: auth(tokens.operator), payload: { reason: 'seen, sending a technician' } });
    expect(res.statusCode).toBe(200);
    expect(res.json().alarm).toMatchObject({ id: 'a-low', state: 'acknowledged-active', ackedBy: 'operator' });

    const store = new UserStore(dir.path);
    try {
      expect(store.recentAudit(20)).toContainEqual(
        expect.objectContaining({ username: 'operator', action: 'alarm.ack', target: 'a-low', ok: true, details: { reason: 'seen, sending a technician' } }),
      );
    } finally {
      store.close();
    }
  });

  it('acks without a body', async () => {
    const res = await app.inject({ method: 'POST', url: '/api/alarms/a-new-high/ack', headers: auth(tokens.security) });
    expect(res.statusCode).toBe(200);
  });

  it.each([
    ['a-conflict', 409, 'VIGIL_ERR_CONFLICT'],
    ['a-missing', 404, 'VIGIL_ERR_NOT_FOUND'],
    ['a-silent', 504, 'VIGIL_ERR_COMMAND_TIMEOUT'],
  ])('maps the answer for %s to %i', async (id, status, code) => {
    const res = await app.inject({ method: 'POST', url: `/api/alarms/${id}/ack`, headers: auth(tokens.operator), payload: {} });
    expect(res.statusCode).toBe(status);
    expect(res.json().error.code).toBe(code);
  });

  it('rejects a body that is not JSON, naming the body', async () => {
    for (const contentType of ['application/json', 'text/plain']) {
      const res = await app.inject({ method: 'POST', url: '/api/alarms/a-low/ack', headers: { ...auth(tokens.operator), 'content-type': contentType }, payload: '{not json' });
      expect(res.statusCode, contentType).toBe(400);
      expect(res.json().error).toMatchObject({ code: 'VIGIL_ERR_BAD_JSON', field: 'body' });
    }
  });
});

describe('alarm and asset commands', () => {
  it('shelves with reason and expiry through ingest, audited; names a missing field', async () => {
    const until = Date.now() + 3_600_000;
    const res = await app.inject({ method: 'POST', url: '/api/alarms/a-low/shelve', headers: auth(tokens.operator), payload: { reason: 'sensor being replaced', until } });
    expect(res.statusCode).toBe(200);
    expect(res.json().alarm).toMatchObject({ id: 'a-low', state: 'shelved', shelvedBy: 'operator', shelvedUntil: until, shelveReason: 'sensor being replaced' });
    const bad = await app.inject({ method: 'POST', url: '/api/alarms/a-low/shelve', headers: auth(tokens.operator), payload: { until } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.field).toBe('reason');
    const store = new UserStore(dir.path);
    try {
      expect(store.recentAudit(20)).toContainEqual(expect.objectContaining({ username: 'operator', action: 'alarm.shelve', target: 'a-low', ok: true }));
    } finally {
      store.close();
    }
  });

  it('maps reset, comment and unshelve answers; 404 and 409 from ingest', async () => {
    const post = (url: string, payload: object) => app.inject({ method: 'POST', url, headers: auth(tokens.operator), payload });
    expect((await post('/api/alarms/a-low/comment', { text: 'technician on the way' })).statusCode).toBe(200);
    expect((await post('/api/alarms/a-low/unshelve', {})).json().alarm.state).toBe('unacknowledged-active');
    expect((await post('/api/alarms/a-conflict/reset', {})).statusCode).toBe(409);
    expect((await post('/api/alarms/a-missing/comment', { text: 'x' })).statusCode).toBe(404);
  });

  it('puts an asset in maintenance and out of service (engineers), 404 for an unknown asset', async () => {
    const res = await app.inject({ method: 'POST', url: '/api/assets/pump-b1-1/maintenance', headers: auth(tokens.engineer), payload: { on: true, reason: 'seal replacement' } });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ mode: { asset: 'pump-b1-1', maintenance: true, outOfService: false, changedBy: 'engineer' }, alarms: [] });
    const unknown = await app.inject({ method: 'POST', url: '/api/assets/no-such-asset/out-of-service', headers: auth(tokens.admin), payload: { on: true } });
    expect(unknown.statusCode).toBe(404);
  });

  it('shows alarm-system health (floods, chattering) as ingest reports it', async () => {
    const res = await app.inject({ url: '/api/alarms/system', headers: auth(tokens.manager) });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ floods: [], chattering: [] });
  });
});

describe('tickets', () => {
  it('filters by department, status and assignee', async () => {
    const ids = async (q: string) => (await app.inject({ url: `/api/tickets${q}`, headers: auth(tokens.manager) })).json().tickets.map((t: { id: string }) => t.id);
    expect(await ids('')).toEqual(['t-mine', 't-other', 't-sec']);
    expect(await ids('?department=security')).toEqual(['t-sec']);
    expect(await ids('?assignee=technician2')).toEqual(['t-other']);
    expect(await ids('?status=open,closed')).toEqual([]);
    expect(await ids('?status=assigned&department=technical')).toEqual(['t-mine', 't-other']);
    const bad = await app.inject({ url: '/api/tickets?status=assigned,bogus', headers: auth(tokens.manager) });
    expect(bad.json().error).toMatchObject({ code: 'VIGIL_ERR_BAD_REQUEST', field: 'status' });
  });

  it('moves a ticket through a bus command; a technician only their own', async () => {
    const mine = await app.inject({ method: 'POST', url: '/api/tickets/t-mine/move', headers: auth(tokens.technician), payload: { to: 'accepted' } });
    expect(mine.statusCode).toBe(200);
    expect(mine.json().ticket).toMatchObject({ id: 't-mine', status: 'accepted' });

    const other = await app.inject({ method: 'POST', url: '/api/tickets/t-other/move', headers: auth(tokens.technician), payload: { to: 'accepted' } });
    expect(other.statusCode).toBe(403);
    expect(other.json().error.code).toBe('VIGIL_ERR_FORBIDDEN');

    const admin = await app.inject({ method: 'POST', url: '/api/tickets/t-other/move', headers: auth(tokens.admin), payload: { to: 'cancelled', reason: 'duplicate' } });
    expect(admin.statusCode).toBe(200);

    const badTo = await app.inject({ method: 'POST', url: '/api/tickets/t-mine/move', headers: auth(tokens.technician), payload: { to: 'open' } });
    expect(badTo.statusCode).toBe(400);
    expect(badTo.json().error).toMatchObject({ field: 'to', message: expect.stringContaining('in-progress') });
  });
});

describe('simulators', () => {
  it('lists the retained catalog and injects and clears a fault through the simulator peer', async () => {
    const headers = auth(tokens.engineer);
    expect((await app.inject({ url: '/api/simulators', headers })).json()).toEqual({ devices: [] });
    const unknown = await app.inject({ method: 'POST', url: '/api/simulators/booster-1/faults', headers, payload: { fault: 'cavitation' } });
    expect(unknown.statusCode).toBe(404);

    await peerBus.publishAsync(topics.simCatalog(SITE), JSON.stringify(catalog), { qos: 1, retain: true });
    await eventually(async () => (await app.inject({ url: '/api/simulators', headers })).json().devices.length === 1);

    const injected = await app.inject({ method: 'POST', url: '/api/simulators/booster-1/faults', headers, payload: { fault: 'cavitation', params: { severity: 0.5 } } });
    expect(injected.statusCode).toBe(200);
    expect(injected.json().device).toMatchObject({ device: 'booster-1', faults: [{ name: 'cavitation', active: true }] });

    const cleared = await app.inject({ method: 'DELETE', url: '/api/simulators/booster-1/faults/cavitation', headers });
    expect(cleared.statusCode).toBe(200);
    expect(cleared.json().device.faults[0].active).toBe(false);

    const invalid = await app.inject({ method: 'POST', url: '/api/simulators/booster-1/faults', headers, payload: { fault: 'meltdown' } });
    expect(invalid.statusCode).toBe(400);
    expect(invalid.json().error.message).toContain('unknown fault');

    const noDevice = await app.inject({ method: 'DELETE', url: '/api/simulators/booster-9/faults/cavitation', headers });
    expect(noDevice.statusCode).toBe(404);

    const store = new UserStore(dir.path);
    try {
      const actions = store.recentAudit(50).filter((e) => e.username === 'engineer').map((e) => `${e.action} ${e.target} ${e.ok}`);
      expect(actions).toEqual(expect.arrayContaining(['sim.fault.inject booster-1/cavitation true', 'sim.fault.clear booster-1/cavitation true', 'sim.fault.inject booster-1/meltdown false']));
    } finally {
      store.close();
    }
  });

  it('names the missing fault', async () => {
    const res = await app.inject({ method: 'POST', url: '/api/simulators/booster-1/faults', headers: auth(tokens.admin), payload: { params: {} } });
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toMatchObject({ code: 'VIGIL_ERR_BAD_REQUEST', field: 'fault' });
  });
});

describe('the rest of the surface', () => {
  it('answers unknown /api paths with JSON 404, and / with a page that says to build the dashboard', async () => {
    const api = await app.inject({ url: '/api/nope' });
    expect(api.statusCode).toBe(404);
    expect(api.json().error.code).toBe('VIGIL_ERR_NOT_FOUND');
    const root = await app.inject({ url: '/' });
    expect(root.statusCode).toBe(200);
    expect(root.body).toContain('npm run build');
    expect(root.headers['x-content-type-options']).toBe('nosniff');
    expect(root.headers['content-security-policy']).toContain("script-src 'self'");
    expect(api.headers['referrer-policy']).toBe('no-referrer');
  });

  it('answers a malformed URL and an oversized body in the error shape', async () => {
    const url = await app.inject({ url: '/api/points/%E0%A4%A/latest', headers: auth(tokens.admin) });
    expect(url.statusCode).toBe(400);
    expect(url.json().error).toMatchObject({ code: 'VIGIL_ERR_BAD_REQUEST', field: 'url' });
    const big = await app.inject({ method: 'POST', url: '/api/auth/login', headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ username: 'a', password: 'x'.repeat(70_000) }) });
    expect(big.statusCode).toBe(413);
    expect(big.json().error.code).toBe('VIGIL_ERR_PAYLOAD_TOO_LARGE');
  });

  it('counts and drops invalid bus messages and keeps serving', async () => {
    await peerBus.publishAsync(topics.alarms(SITE), '{"id": 1}', { qos: 1 });
    await peerBus.publishAsync(topics.telemetry(SITE, 'booster-1'), 'not json', { qos: 0 });
    await eventually(async () => (await app.inject({ url: '/api/health' })).json().components.bus.invalidMessages >= 2);
    expect((await app.inject({ url: '/api/me', headers: auth(tokens.admin) })).statusCode).toBe(200);
  });

  it('documents every error code with a status', () => {
    for (const [code, entry] of Object.entries(API_ERRORS)) {
      expect(code).toMatch(/^VIGIL_ERR_[A-Z_]+$/);
      expect(entry.description.length).toBeGreaterThan(10);
      expect(entry.status).toBeGreaterThanOrEqual(400);
    }
  });
});

describe('the dashboard', () => {
  it('serves the built app and answers index.html for client-side routes', async () => {
    const dist = tempDir();
    writeFileSync(join(dist.path, 'index.html'), '<!doctype html><div id="root"></div><script type="module" src="/app.js"></script>');
    writeFileSync(join(dist.path, 'app.js'), 'console.log("vigil")');
    const ui = await buildApi({ site: demoSite, bus: { url: broker.url }, dataDir: dir.path, host: '127.0.0.1', port: 0, log: silent, secret: SECRET, demoUsers: false, reader, dashboardDir: dist.path });
    try {
      expect((await ui.inject({ url: '/' })).body).toContain('id="root"');
      expect((await ui.inject({ url: '/app.js' })).headers['content-type']).toContain('javascript');
      const deep = await ui.inject({ url: '/alarms/a-1' });
      expect(deep.statusCode).toBe(200);
      expect(deep.body).toContain('id="root"');
      expect((await ui.inject({ url: '/api/nothing' })).json().error.code).toBe('VIGIL_ERR_NOT_FOUND');
      // demo users off: a seeded demo account no longer logs in.
      expect((await ui.inject({ method: 'POST', url: '/api/auth/login', payload: { username: 'admin', password: DEMO_PASSWORD } })).statusCode).toBe(401);
    } finally {
      await ui.close();
      dist.remove();
    }
  });
});
