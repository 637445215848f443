import { describe, expect, it } from 'vitest';
import { formatDateTime, formatRecent, formatTime } from './formatDateTime.ts';

// 2025-01-15T16:30:05Z
const ts = Date.UTC(2025, 0, 15, 16, 30, 5);

describe('formatDateTime', () => {
  it("shows the site's local time, not the browser's", () => {
    expect(formatDateTime(ts, 'Asia/Shanghai')).toBe('2025-01-16 00:30:05');
    expect(formatDateTime(ts, 'UTC')).toBe('2025-01-15 16:30:05');
    expect(formatDateTime(ts, 'America/New_York')).toBe('2025-01-15 11:30:05');
  });

  it('uses a 24-hour clock at midnight', () => {
    expect(formatTime(Date.UTC(2025, 0, 15, 16, 0, 0), 'Asia/Shanghai')).toBe('00:00:00');
  });

  it('falls back to UTC for an unknown time zone', () => {
    expect(formatDateTime(ts, 'Mars/Olympus_Mons')).toBe('2025-01-15 16:30:05');
  });
});

describe('formatRecent', () => {
  it("shows only the time for the site's today and the date otherwise", () => {
    const now = Date.UTC(2025, 0, 15, 17, 0, 0); // 01:00 on the 16th in Shanghai
    expect(formatRecent(Date.UTC(2025, 0, 15, 16, 30, 5), now, 'Asia/Shanghai')).toBe('00:30:05');
    expect(formatRecent(Date.UTC(2025, 0, 15, 15, 30, 5), now, 'Asia/Shanghai')).toBe('2025-01-15 23:30:05');
  });
});
