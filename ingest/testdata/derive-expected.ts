/**
 * An independent check of demo-day.expected.json: applies the demo site's sample-time rules to the
 * recorded batches with plain code written from the rules' definitions (not ingest's detectors) and
 * prints every activation with the samples that made it, plus what the slower rules saw.
 *
 *   npx tsx ingest/testdata/derive-expected.ts
 */
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { DEMO_SITE_FILE, expandDetectors, loadSiteFile, type Sample, type TelemetryBatch } from '@vigil/model';

const here = (f: string) => fileURLToPath(new URL(f, import.meta.url));
const site = loadSiteFile(DEMO_SITE_FILE);
const batches = gunzipSync(readFileSync(here('demo-day.jsonl.gz')))
  .toString('utf8')
  .split('\n')
  .filter(Boolean)
  .map((l) => JSON.parse(l) as TelemetryBatch);
const samples: Sample[] = batches.flatMap((b) => b.samples);

const out: Array<{ ts: number; key: string; evidence: string }> = [];
const iso = (ts: number) => new Date(ts).toISOString();
const num = (s: Sample) => (typeof s.value === 'boolean' ? Number(s.value) : (s.value as number));
const byPoint = (p: string) => samples.filter((s) => s.point === p && s.quality === 'good');

for (const inst of expandDetectors(site).instances) {
  const c = inst.config;
  if (c.type === 'threshold') {
    const series = byPoint(inst.point!);
    for (const name of ['lolo', 'lo', 'hi', 'hihi'] as const) {
      const limit = c[name];
      if (limit === undefined) continue;
      const low = name === 'lo' || name === 'lolo';
      let active = false;
      let runStart: number | null = null;
      for (const s of series) {
        const v = num(s);
        if (!active) {
          if (low ? v < limit : v > limit) {
            runStart ??= s.ts;
            if (s.ts - runStart >= c.onDelayMs) {
              active = true;
              runStart = null;
              out.push({ ts: s.ts, key: `${c.id}:${inst.point}:${name}`, evidence: `${inst.point} ${v} ${low ? '<' : '>'} ${limit} since the sample before (on-delay ${c.onDelayMs} ms)` });
            }
          } else runStart = null;
        } else if (low ? v >= limit + c.deadband : v <= limit - c.deadband) active = false; // no off-delay in the demo
      }
    }
  } else if (c.type === 'state') {
    let active = false;
    for (const s of byPoint(inst.point!)) {
      const inState = c.alarms[0]!.values.some((x) => x === s.value);
      if (inState && !active) out.push({ ts: s.ts, key: `${c.id}:${inst.point}:${c.alarms[0]!.name}`, evidence: `${inst.point} = ${String(s.value)}` });
      active = inState;
    }
  } else if (c.type === 'combined') {
    const points = new Set(c.all.map((x) => `${inst.asset}.${x.point}`));
    const latest = new Map<string, number>();
    let since: number | null = null;
    let active = false;
    let now = -Infinity;
    for (const s of samples) {
      if (!points.has(s.point) || s.quality !== 'good') continue;
      latest.set(s.point, num(s));
      now = Math.max(now, s.ts);
      const holds = c.all.every((x) => {
        const v = latest.get(`${inst.asset}.${x.point}`);
        const want = typeof x.value === 'boolean' ? Number(x.value) : (x.value as number);
        return v !== undefined && (x.op === '==' ? v === want : x.op === '>' ? v > want : false);
      });
      if (!holds) {
        since = null;
        active = false;
        continue;
      }
      since ??= now;
      if (!active && now - since >= c.forMs) {
        active = true;
        out.push({ ts: now, key: `${c.id}:${inst.asset}`, evidence: `${[...latest].map(([p, v]) => `${p.split('.')[1]}=${v}`).join(' ')} since ${iso(since)}` });
      }
    }
  } else if (c.type === 'deviation') {
    // EWMA mean and variance of the running samples (West), judged after `warmup` samples.
    const running = `${inst.asset}.${c.running}`;
    let isRunning = false;
    let n = 0;
    let mean = 0;
    let variance = 0;
    let maxZ = -Infinity;
    let maxZAt = 0;
    for (const s of samples) {
      if (s.point === running) isRunning = s.value === true;
      if (s.point !== inst.point || !isRunning) continue;
      const v = num(s);
      if (n >= c.warmup) {
        const z = (v - mean) / Math.max(Math.sqrt(variance), c.minSigma);
        if (z > maxZ) [maxZ, maxZAt] = [z, s.ts];
        if (Math.abs(z) > c.zLimit / 2) continue; // beyond half the limit: not learnt
      }
      if (n === 0) mean = v;
      else {
        const diff = v - mean;
        mean += c.alpha * diff;
        variance = (1 - c.alpha) * (variance + diff * c.alpha * diff);
      }
      n++;
    }
    console.log(`${c.id}:${inst.point}: ${n} running samples learnt (warm-up ${c.warmup}); highest z after warm-up ${n > c.warmup ? `${maxZ.toFixed(2)} at ${iso(maxZAt)}` : 'none (never warmed up)'}; limit ${c.zLimit} for ${c.onDelayMs} ms`);
  }
}

// What the pumps did: the running periods of each booster.
for (const p of ['pump-b1-1', 'pump-b1-2', 'pump-b1-3']) {
  const runs: string[] = [];
  let from: number | null = null;
  for (const s of byPoint(`${p}.running`)) {
    if (s.value === true && from === null) from = s.ts;
    if (s.value === false && from !== null) {
      if (s.ts - from > 600_000) runs.push(`${iso(from).slice(11, 16)}–${iso(s.ts).slice(11, 16)}`);
      from = null;
    }
  }
  if (from !== null) runs.push(`${iso(from).slice(11, 16)}–end`);
  const vib = byPoint(`${p}.vibration`).reduce((m, s) => (num(s) > m.v ? { v: num(s), ts: s.ts } : m), { v: -Infinity, ts: 0 });
  console.log(`${p}: runs longer than 10 min (UTC) ${runs.join(', ')}; highest vibration ${vib.v} mm/s at ${iso(vib.ts)}`);
}

out.sort((a, b) => a.ts - b.ts || a.key.localeCompare(b.key));
for (const a of out) console.log(`${iso(a.ts)} ${a.key}  —  ${a.evidence}`);
