import { describe, expect, it } from 'vitest';
import { filterCovers, mayPublish, maySubscribe, mosquittoAcl, topicMatches } from './bus-acl.ts';

describe('bus ACL', () => {
  it('matches topics against filters with + and #', () => {
    expect(topicMatches('a/+/c', 'a/b/c')).toBe(true);
    expect(topicMatches('a/+/c', 'a/b/d')).toBe(false);
    expect(topicMatches('a/#', 'a/b/c')).toBe(true);
    expect(topicMatches('a/+', 'a/b/c')).toBe(false);
  });

  it('lets a subscription through only when the allowed filter covers it', () => {
    expect(filterCovers('a/+/c', 'a/x/c')).toBe(true);
    expect(filterCovers('a/+/c', 'a/+/c')).toBe(true);
    expect(filterCovers('a/x/c', 'a/+/c')).toBe(false);
    expect(filterCovers('a/+', 'a/#')).toBe(false);
    expect(filterCovers('a/#', 'a/+/c')).toBe(true);
  });

  it('gives each component only its own topics', () => {
    expect(mayPublish('gateway', 'demo', 'vigil/v1/demo/telemetry/booster-1')).toBe(true);
    expect(mayPublish('gateway', 'demo', 'vigil/v1/demo/alarms')).toBe(false);
    expect(mayPublish('gateway', 'other', 'vigil/v1/demo/telemetry/booster-1')).toBe(false);
    expect(mayPublish('api', 'demo', 'vigil/v1/demo/commands/alarm-ack')).toBe(true);
    expect(mayPublish('api', 'demo', 'vigil/v1/demo/commands/result/x')).toBe(false);
    expect(mayPublish('ingest', 'demo', 'vigil/v1/demo/commands/result/x')).toBe(true);
    expect(maySubscribe('ingest', 'demo', 'vigil/v1/demo/telemetry/+')).toBe(true);
    expect(maySubscribe('gateway', 'demo', 'vigil/v1/demo/#')).toBe(false);
    expect(maySubscribe('sim', 'demo', 'vigil/v1/demo/sim/+/+')).toBe(true);
    expect(mayPublish('integration', 'demo', '$SYS/x')).toBe(false);
    expect(mayPublish('sim', 'demo', 'vendor/acme-access/demo/doors/d1/event')).toBe(true);
    expect(maySubscribe('gateway', 'demo', 'vendor/acme-access/demo/#')).toBe(true);
    expect(mayPublish('gateway', 'demo', 'vendor/acme-access/demo/x')).toBe(false);
  });

  it('writes the same table as a Mosquitto ACL file', () => {
    const acl = mosquittoAcl('demo', { gateway: 'gw' });
    expect(acl).toContain('user gw\ntopic write vigil/v1/demo/telemetry/+');
    expect(acl).toContain('topic read vigil/v1/demo/acks/+');
  });
});
