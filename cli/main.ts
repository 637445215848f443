/**
 * The `vigil` command line (DESIGN.md, "Command line"). Logs go to stderr; stdout is for answers.
 * Each command imports only the modules it runs: a `vigil gateway` on an edge box does not load the
 * API, the database driver or the simulators.
 */
import { parseArgs } from 'node:util';
import { createInterface } from 'node:readline';
import { pino, type Logger } from 'pino';
import { loadSiteFile, SiteError, isRole, ROLES, type Site } from '@vigil/model';
import { loadConfig, loadSecret, ConfigError, externalBus, demoUsersAllowed, type Config } from './config.ts';
import { describePortPlan } from './port-plan.ts';

const USAGE = `Usage: vigil <command> [options]

  start                 everything in one process: broker, simulators, gateway, ingest, api, dashboard
  sim [--json]          the device simulators of the site file, standalone (--seed N, --speed N: simulated
                        seconds per real second)
  gateway               the edge gateway (needs VIGIL_MQTT_URL)
  gateway discover --addresses HOST:PORT,… | --range HOST:FROM-TO [--interface IP] [--port N]
                        find BACnet/IP devices (unicast Who-Is) and print them as a site-file snippet
  ingest                the ingest service (needs VIGIL_MQTT_URL)
  api                   the HTTP API and dashboard (needs VIGIL_MQTT_URL)
  bench [--json FILE] [--seconds N] [--only ingest,gateway]
                        measure the speed goals; prints a table, writes JSON
  sim fault DEVICE FAULT [--params JSON] | sim clear DEVICE FAULT
                        inject or clear a fault in running simulators, over the bus (needs VIGIL_MQTT_URL)
  sim --scenario FILE   run a scripted scenario (YAML) against the simulators
  sim --scale N         the site's building multiplied into N towers (ids suffixed, ports shifted)
  sim --profile bench --devices N --points M
                        N synthetic Modbus devices of M registers, every value changing every second
  backup FILE           save ingest's databases while Vigil runs (SQLite online backup)
  restore FILE          put a backup back (ingest and api stopped)
  site check FILE       validate a site file
  user add NAME --role ROLE [--name "Full Name"]
                        create or update a user; the password is read from stdin

Options: --site FILE (default: VIGIL_SITE, else the bundled demo site). Environment: see README.md.`;

function makeLogger(): Logger {
  const level = process.env.VIGIL_LOG_LEVEL || 'info';
  if (process.stderr.isTTY) return pino({ level, transport: { target: 'pino-pretty', options: { destination: 2, translateTime: 'SYS:HH:MM:ss', ignore: 'pid,hostname' } } });
  return pino({ level }, pino.destination(2));
}

type Closable = { close(): Promise<void> };

/** Runs until SIGINT or SIGTERM, then closes in order and exits. */
function runUntilSignalled(log: Logger, running: Closable): void {
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping');
    const force = setTimeout(() => process.exit(1), 10_000);
    force.unref();
    running.close().then(
      () => process.exit(0),
      (err) => {
        log.error({ err }, 'error while stopping');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

async function readPassword(): Promise<string> {
  if (!process.stdin.isTTY) {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
  }
  process.stderr.write('Password: ');
  const rl = createInterface({ input: process.stdin, terminal: true });
  // Do not echo the password.
  (rl as unknown as { _writeToOutput: (s: string) => void })._writeToOutput = () => {};
  const line = await new Promise<string>((resolve) => rl.once('line', resolve));
  rl.close();
  process.stderr.write('\n');
  return line;
}

function loadSite(config: Config): Site {
  return loadSiteFile(config.siteFile);
}

async function bench(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { json: { type: 'string' }, seconds: { type: 'string' }, only: { type: 'string' } } });
  const seconds = values.seconds === undefined ? 30 : Number(values.seconds);
  if (!(seconds >= 1)) throw new ConfigError(`--seconds ${values.seconds}: a number of seconds, at least 1 (figures are meant over 30 or more)`);
  const { runBench } = await import('./bench.ts');
  await runBench({ seconds, json: values.json, only: values.only?.split(','), progress: (l) => process.stderr.write(l + '\n') });
  return 0;
}

async function main(argv: string[]): Promise<number> {
  if (argv[0] === 'bench') return bench(argv.slice(1));
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      site: { type: 'string' },
      json: { type: 'boolean' },
      seed: { type: 'string' },
      speed: { type: 'string' },
      scenario: { type: 'string' },
      profile: { type: 'string' },
      addresses: { type: 'string' },
      range: { type: 'string' },
      interface: { type: 'string' },
      port: { type: 'string' },
      devices: { type: 'string' },
      points: { type: 'string' },
      scale: { type: 'string' },
      params: { type: 'string' },
      role: { type: 'string' },
      name: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [command, ...rest] = positionals;
  if (!command || values.help || command === 'help') {
    process.stdout.write(USAGE + '\n');
    return command || values.help ? 0 : 2;
  }

  if (command === 'site') {
    const file = rest[1] ?? values.site;
    if (rest[0] !== 'check' || !file) {
      process.stderr.write('Usage: vigil site check FILE\n');
      return 2;
    }
    const site = loadSiteFile(file);
    const points = site.devices.reduce((n, d) => n + d.points.length, 0);
    process.stdout.write(`${file}: OK — site ${site.site.id}, ${site.buildings.length} building(s), ${site.assets.length} asset(s), ${site.devices.length} device(s), ${points} point(s), ${site.detectors.length} detector(s), ${site.roster.people.length} person(s) on the roster\n`);
    return 0;
  }

  const config = loadConfig(process.env, { siteFile: values.site });

  if (command === 'user') {
    const username = rest[1];
    if (rest[0] !== 'add' || !username || !values.role) {
      process.stderr.write(`Usage: vigil user add NAME --role ROLE [--name "Full Name"]  (roles: ${ROLES.join(', ')})\n`);
      return 2;
    }
    if (!isRole(values.role)) {
      process.stderr.write(`unknown role '${values.role}'; roles: ${ROLES.join(', ')}\n`);
      return 2;
    }
    const password = await readPassword();
    const { addUser } = await import('@vigil/api');
    await addUser(config.dataDir, { username, name: values.name, role: values.role, password });
    process.stderr.write(`user ${username} (${values.role}) saved in ${config.dataDir}\n`);
    return 0;
  }

  if (command === 'backup' || command === 'restore') {
    const file = rest[0];
    if (!file) {
      process.stderr.write(`Usage: vigil ${command} FILE\n`);
      return 2;
    }
    const { backupDatabases, restoreDatabases } = await import('@vigil/ingest');
    const summary = command === 'backup' ? await backupDatabases(config.dataDir, file) : await restoreDatabases(file, config.dataDir);
    process.stderr.write(`${command === 'backup' ? 'saved' : 'restored'}: ${JSON.stringify(summary)}\n`);
    return 0;
  }

  if (command === 'gateway' && rest[0] === 'discover') {
    let addresses: string[] | { host: string; fromPort: number; toPort: number };
    const range = values.range?.match(/^([^:]+):(\d+)-(\d+)$/);
    if (values.addresses) addresses = values.addresses.split(',').map((a) => a.trim());
    else if (range) addresses = { host: range[1]!, fromPort: Number(range[2]), toPort: Number(range[3]) };
    else {
      process.stderr.write('Usage: vigil gateway discover --addresses 127.0.0.1:47901,127.0.0.1:47902 | --range 127.0.0.1:47900-47999 [--interface IP] [--port N]\n');
      return 2;
    }
    const port = values.port === undefined ? undefined : Number(values.port);
    const { discoverBacnet } = await import('@vigil/gateway');
    const found = await discoverBacnet({ addresses, ...(values.interface ? { interface: values.interface } : {}), ...(port ? { port } : {}) });
    process.stderr.write(`found ${found.devices.length} device(s)\n`);
    process.stdout.write(found.yaml);
    return 0;
  }

  const log = makeLogger();
  let site = loadSite(config);

  if (command === 'sim' && (rest[0] === 'fault' || rest[0] === 'clear')) {
    const [action, device, fault] = rest;
    if (!device || !fault) {
      process.stderr.write('Usage: vigil sim fault|clear DEVICE FAULT [--params JSON]\n');
      return 2;
    }
    let params: Record<string, number | string | boolean> | undefined;
    if (values.params) {
      try {
        params = JSON.parse(values.params);
      } catch {
        throw new ConfigError(`--params ${values.params}: a JSON object, e.g. '{"zone":"f05"}'`);
      }
    }
    const { sendSimCommand } = await import('@vigil/simulators');
    const reply = await sendSimCommand({ bus: externalBus(config), site: site.site.id, device, action: action === 'fault' ? 'inject' : 'clear', fault, params, timeoutMs: 5000 });
    if (!reply.ok) {
      process.stderr.write(`vigil: ${reply.error?.code}: ${reply.error?.message}\n`);
      return 1;
    }
    process.stdout.write(JSON.stringify(reply.device) + '\n');
    return 0;
  }

  switch (command) {
    case 'start': {
      const { startStack } = await import('./stack.ts');
      const { DEMO_PASSWORD } = await import('@vigil/api');
      const stack = await startStack(config, site, log);
      log.info(`Vigil is up: ${stack.url}  (site ${site.site.id}, data in ${config.dataDir}, bus ${stack.busUrl})`);
      log.info('Port plan:\n' + describePortPlan(config, site, stack.busUrl));
      if (stack.demoUsers) {
        log.warn(`DEMO MODE: users operator, technician, technician2, security, engineer, manager and admin can sign in with the password '${DEMO_PASSWORD}'. Use your own site file (VIGIL_SITE) for anything but a demo on this machine.`);
      }
      runUntilSignalled(log, stack);
      return -1;
    }
    case 'sim': {
      const count = (name: string, raw: string | undefined, fallback: number) => {
        const n = raw === undefined ? fallback : Number(raw);
        if (!Number.isInteger(n) || n < 1) throw new ConfigError(`--${name} ${raw}: a whole number, at least 1`);
        return n;
      };
      const { startSimulators, startBenchSimulators, scaleSite, createSimClock, loadScenarioFile, scenarioClock, checkScenario, runScenario } = await import('@vigil/simulators');
      if (values.profile !== undefined) {
        if (values.profile !== 'bench') throw new ConfigError(`--profile ${values.profile}: the only profile is 'bench'`);
        const bench = await startBenchSimulators({ devices: count('devices', values.devices, 100), points: count('points', values.points, 1000), log: log.child({ module: 'simulators' }) });
        const endpoints = bench.endpoints.map(({ device, protocol, host, port, unit }) => ({ device, protocol, host, port, unit }));
        if (values.json) process.stdout.write(JSON.stringify(endpoints) + '\n');
        else for (const e of endpoints) process.stdout.write(`${e.device}\t${e.protocol}\t${e.host}:${e.port}\tunit ${e.unit}\n`);
        runUntilSignalled(log, bench);
        return -1;
      }
      const scale = count('scale', values.scale, 1);
      if (scale > 1) site = scaleSite(site, scale);
      const seed = values.seed === undefined ? undefined : Number(values.seed);
      if (seed !== undefined && !Number.isInteger(seed)) throw new ConfigError(`--seed ${values.seed}: a whole number`);
      const speed = values.speed === undefined ? undefined : Number(values.speed);
      if (speed !== undefined && !(speed > 0 && speed <= 10_000)) throw new ConfigError(`--speed ${values.speed}: simulated seconds per real second, more than 0 and at most 10000`);
      const scenario = values.scenario ? loadScenarioFile(values.scenario) : undefined;
      // A scenario brings its own start time and speed; --speed overrides its speed.
      const clock = scenario ? scenarioClock(scenario, site.site.timezone, speed === undefined ? {} : { speed }) : createSimClock({ speed: speed ?? 1 });
      const sims = await startSimulators({
        site,
        bus: config.mqttUrl ? externalBus(config) : undefined,
        log: log.child({ module: 'simulators' }),
        seed,
        clock,
      });
      if (scenario) {
        checkScenario(scenario, site, sims.endpoints);
        const run = runScenario(scenario, sims, clock, { log: log.child({ scenario: scenario.name }) });
        void run.done.then((result) => log.info({ scenario: scenario.name, result }, 'scenario finished'));
      }
      const endpoints = sims.endpoints.map(({ device, protocol, host, port, unit, instance, topic }) => ({ device, protocol, host, port, unit, instance, topic }));
      if (values.json) process.stdout.write(JSON.stringify(endpoints) + '\n');
      else {
        for (const e of endpoints) {
          const address = e.protocol === 'mqtt' ? `${e.host}:${e.port}\ttopic ${e.topic}/#` : `${e.host}:${e.port}\t${e.protocol === 'bacnet-ip' ? `device ${e.instance}` : `unit ${e.unit}`}`;
          process.stdout.write(`${e.device}\t${e.protocol}\t${address}\n`);
        }
      }
      runUntilSignalled(log, sims);
      return -1;
    }
    case 'gateway': {
      const { startGateway } = await import('@vigil/gateway');
      const gw = await startGateway({ site, gatewayId: config.gatewayId, bus: externalBus(config), dataDir: config.dataDir, log: log.child({ module: 'gateway' }), bacnet: config.bacnet });
      runUntilSignalled(log, gw);
      return -1;
    }
    case 'ingest': {
      const { startIngest } = await import('@vigil/ingest');
      const ingest = await startIngest({ site, bus: externalBus(config), dataDir: config.dataDir, log: log.child({ module: 'ingest' }), influx: config.influx });
      runUntilSignalled(log, ingest);
      return -1;
    }
    case 'api': {
      const [{ openStateReader }, { startApi }, { DASHBOARD_DIR }] = await Promise.all([import('@vigil/ingest'), import('@vigil/api'), import('./stack.ts')]);
      const reader = openStateReader(config.dataDir, { influx: config.influx });
      const api = await startApi({
        site,
        bus: externalBus(config),
        dataDir: config.dataDir,
        host: config.host,
        port: config.httpPort,
        log: log.child({ module: 'api' }),
        secret: loadSecret(config.dataDir),
        demoUsers: demoUsersAllowed(config, site),
        dashboardDir: DASHBOARD_DIR,
        reader,
      });
      log.info(`Vigil API is up: ${api.url}`);
      runUntilSignalled(log, {
        close: async () => {
          await api.close();
          reader.close();
        },
      });
      return -1;
    }
    default:
      process.stderr.write(`unknown command '${command}'\n\n${USAGE}\n`);
      return 2;
  }
}

/** Errors a person causes and can fix from the message alone (a bad file, a locked data dir …). */
const PERSON_ERRORS = new Set(['ScenarioError', 'SimError', 'SimCommandTimeout', 'DataDirLockedError', 'BackupError', 'SchemaTooNewError']);

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exitCode = code;
  },
  (err: unknown) => {
    // Errors a person can cause get their message only; anything else gets its stack.
    if (err instanceof SiteError || err instanceof ConfigError || (err instanceof Error && PERSON_ERRORS.has(err.name))) process.stderr.write(`vigil: ${err.message}\n`);
    else if (err instanceof Error && 'code' in err && typeof err.code === 'string' && err.code.startsWith('VIGIL_ERR_')) process.stderr.write(`vigil: ${err.message}\n`);
    else if (err instanceof Error && ['ENOENT', 'EACCES', 'EISDIR', 'ENOTDIR'].includes((err as NodeJS.ErrnoException).code ?? '')) process.stderr.write(`vigil: ${err.message}\n`);
    else if (err instanceof Error && (err as NodeJS.ErrnoException).code === 'EADDRINUSE') process.stderr.write(`vigil: ${err.message}: another program uses this port (see VIGIL_HTTP_PORT, VIGIL_MQTT_PORT and the site file's device ports)\n`);
    else process.stderr.write(`vigil: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
