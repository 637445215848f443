/** The NVR/VMS bridge in simulated time: status, durative alarms, disks, after-hours analytics. */
import { describe, expect, it } from 'vitest';
import { DEMO_SITE_FILE, loadSiteFile, type MqttDevice } from '@vigil/model';
import type { VendorPublisher } from '../device.ts';
import { CctvBridge } from './cctv.ts';
import { BridgeOutput, LocalTime } from './bridge.ts';

const site = loadSiteFile(DEMO_SITE_FILE);
const device = site.devices.find((d) => d.id === 'vms-bridge') as MqttDevice;
const local = new LocalTime(site.site.timezone);
/** Tuesday 4 March 2025, 00:00 in Shanghai. */
const MIDNIGHT = Date.UTC(2025, 2, 3, 16, 0);
const H = 3_600_000;

function bridge(start: number, opts: { seed?: number; params?: Record<string, number | string> } = {}) {
  const messages: Array<{ topic: string; body: Record<string, unknown>; retain: boolean }> = [];
  const vendor: VendorPublisher = {
    connected: true,
    publish: (topic, payload, o) => messages.push({ topic, body: JSON.parse(String(payload)), retain: o?.retain ?? false }),
  };
  const dev = opts.params ? { ...device, simulator: { model: 'cctv', params: opts.params } } : device;
  const b = new CctvBridge({ site, device: dev, seed: opts.seed ?? 3, start, out: new BridgeOutput(vendor, device.topic) });
  const events = (type?: string) => messages.filter((m) => !m.retain && (!type || m.body.eventType === type));
  const last = (topicEnd: string) => messages.filter((m) => m.topic.endsWith(topicEnd)).at(-1)?.body;
  return { b, messages, events, last };
}

describe('cctv bridge', () => {
  it('publishes a retained status per camera and for the NVR', () => {
    const { b, messages, last } = bridge(MIDNIGHT + 10 * H);
    b.step(MIDNIGHT + 10 * H);
    expect(messages.filter((m) => m.retain && m.topic.endsWith('/status') && m.topic.includes('/camera/'))).toHaveLength(40);
    expect(last('camera/cam-b1-03/status')).toMatchObject({ camera: 'cam-b1-03', channelID: 9, online: true, recording: true, videoLoss: false, tamper: 'none', restrictedZone: true });
    expect(last('camera/cam-f05-01/status')).toMatchObject({ restrictedZone: false });
    expect(last('nvr/status')).toMatchObject({ online: true, channels: 40, recordingChannels: 40, disks: [{ disk: 1, status: 'ok' }, { disk: 2 }, { disk: 3 }, { disk: 4 }] });
  });

  it('camera offline: ipcdisconnect active, repeated while it lasts, inactive when back', () => {
    const t0 = MIDNIGHT + 10 * H;
    const { b, events, last } = bridge(t0);
    b.inject('camera-offline', { camera: 'cam-f01-02' }, t0);
    b.step(t0 + 65_000);
    expect(last('camera/cam-f01-02/status')).toMatchObject({ online: false, recording: false });
    b.clear('camera-offline', t0 + 65_000);
    b.step(t0 + 65_000);
    expect(events('ipcdisconnect').map((m) => [m.topic, m.body.eventState, m.body.activePostCount, (m.body.ts as number) - t0])).toEqual([
      ['vendor/acme-vms/demo/camera/cam-f01-02/event', 'active', 1, 0],
      ['vendor/acme-vms/demo/camera/cam-f01-02/event', 'active', 2, 30_000],
      ['vendor/acme-vms/demo/camera/cam-f01-02/event', 'active', 3, 60_000],
      ['vendor/acme-vms/demo/camera/cam-f01-02/event', 'inactive', 3, 65_000],
    ]);
    expect(events('recordingfailure')).toEqual([]); // the gap is the disconnect, not a second alarm
    expect(last('camera/cam-f01-02/status')).toMatchObject({ online: true, recording: true });
  });

  it('tamper: covered → tamperdetection, blurred → defocus, with ONVIF topics and ISAPI fields', () => {
    const t0 = MIDNIGHT + 10 * H;
    const { b, events, last } = bridge(t0);
    b.inject('tamper', { camera: 'cam-b1-02', kind: 'blurred' }, t0);
    b.inject('video-loss', { camera: 'cam-b2-01' }, t0);
    b.step(t0 + 1000);
    expect(events('defocus')[0]!.body).toMatchObject({ camera: 'cam-b1-02', channelID: 8, eventState: 'active', onvifTopic: 'tns1:VideoSource/ImageTooBlurry/AnalyticsService', dateTime: local.iso(t0) });
    expect(String(events('defocus')[0]!.body.dateTime)).toMatch(/^2025-03-04T10:00:00\+08:00$/);
    expect(last('camera/cam-b1-02/status')).toMatchObject({ tamper: 'blurred' });
    expect(events('videoloss')[0]!.body).toMatchObject({ camera: 'cam-b2-01', onvifTopic: 'tns1:VideoSource/SignalLoss' });
    b.inject('tamper', { camera: 'cam-b1-02', kind: 'covered' }, t0 + 2000); // moved: blurred ends, covered begins
    b.step(t0 + 2000);
    expect(events('defocus').at(-1)!.body.eventState).toBe('inactive');
    expect(events('tamperdetection')[0]!.body).toMatchObject({ eventState: 'active', onvifTopic: 'tns1:RuleEngine/TamperDetector/Tamper' });
  });

  it('disk failure: diskerror, the cameras on that disk stop recording; the replacement is empty', () => {
    const t0 = MIDNIGHT + 10 * H;
    const { b, events, last } = bridge(t0);
    b.inject('disk-failure', { disk: 2 }, t0);
    b.step(t0 + 1000);
    expect(events('diskerror')[0]).toMatchObject({ topic: 'vendor/acme-vms/demo/nvr/event', body: { eventState: 'active', disk: 2, onvifTopic: 'tns1:Device/HardwareFailure/StorageFailure' } });
    const stopped = events('recordingfailure').map((m) => m.body.channelID as number);
    expect(stopped).toEqual([2, 6, 10, 14, 18, 22, 26, 30, 34, 38]);
    expect(last('nvr/status')).toMatchObject({ recordingChannels: 30 });
    b.clear('disk-failure', t0 + 2000);
    b.step(t0 + 2000);
    expect((last('nvr/status')!.disks as Array<{ status: string; usedGB: number }>)[1]).toMatchObject({ status: 'ok', usedGB: 0 });
    expect(events('recordingfailure').filter((m) => m.body.eventState === 'inactive')).toHaveLength(10);
  });

  it('disk usage rises with recording and wraps when the NVR overwrites', () => {
    const t0 = MIDNIGHT;
    // Small disks so that a few simulated hours fill them: 10 cameras × 4 Mbit/s ≈ 18 GB/h per disk.
    const { b, messages } = bridge(t0, { params: { diskGB: 40 } });
    const used: number[] = [];
    for (let t = t0; t <= t0 + 6 * H; t += 10 * 60_000) {
      b.step(t);
      used.push((messages.filter((m) => m.topic.endsWith('nvr/status')).at(-1)!.body.disks as Array<{ usedPercent: number }>)[0]!.usedPercent);
    }
    expect(used[1]!).toBeGreaterThan(used[0]!);
    expect(Math.max(...used)).toBeLessThanOrEqual(100);
    expect(used.some((u, i) => i > 0 && u < used[i - 1]!)).toBe(true); // overwrite drops it
  });

  it('intrusion: line crossing on demand; spontaneous ones only in restricted zones, after hours', () => {
    const t0 = MIDNIGHT;
    const { b, events } = bridge(t0, { params: { nightIntrusionsPerHour: 6 } });
    b.inject('intrusion', { camera: 'cam-f10-01', rule: 'line' }, t0 + 60_000);
    for (let t = t0; t <= t0 + 24 * H; t += 60_000) b.step(t);
    const line = events('linedetection').filter((m) => m.body.camera === 'cam-f10-01');
    expect(line[0]!.body).toMatchObject({ eventState: 'active', ts: t0 + 60_000, detectionTarget: 'human', restrictedZone: false, onvifTopic: 'tns1:RuleEngine/LineDetector/Crossed' });
    const spontaneous = [...events('linedetection'), ...events('fielddetection')].filter((m) => m.body.camera !== 'cam-f10-01' && m.body.activePostCount === 1 && m.body.eventState === 'active');
    expect(spontaneous.length).toBeGreaterThan(10);
    for (const m of spontaneous) {
      expect(m.body.restrictedZone).toBe(true);
      const h = local.hour(m.body.ts as number);
      expect(h >= 20 || h < 7).toBe(true);
    }
  });
});
