/**
 * Plant that several devices share (a booster set's header, a fire main), by run and name: each
 * `startSimulators` has its own clock, so two runs in one process (tests do that) never share one.
 */
import type { SimClock } from '../clock.ts';

const SHARED = new WeakMap<SimClock, Map<string, { members: number; value: unknown }>>();

/** The shared object of `kind`/`name` in this run, created by the first member; released by the last. */
export function joinShared<T>(clock: SimClock, kind: string, name: string, create: () => T): { value: T; leave: () => void } {
  let all = SHARED.get(clock);
  if (!all) SHARED.set(clock, (all = new Map()));
  const key = `${kind}/${name}`;
  let entry = all.get(key);
  if (!entry) all.set(key, (entry = { members: 0, value: create() }));
  entry.members++;
  let left = false;
  return {
    value: entry.value as T,
    leave: () => {
      if (left) return;
      left = true;
      if (--entry.members === 0) all.delete(key);
    },
  };
}
