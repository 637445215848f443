/**
 * A person at the console: Debian's Chromium (driven by playwright-core, never a downloaded
 * browser) signs in as the operator and watches a pump alarm appear live, then acknowledges it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { peer } from '../testing/index.ts';
import { startTestStack, type TestStack } from './test-stack.ts';
import { DASHBOARD_DIR } from './stack.ts';

const browserBinary = peer('/usr/bin/chromium', 'chromium');

// What the test looks for, by role and accessible name.
const ui = {
  username: (p: Page) => p.getByLabel('Username'),
  password: (p: Page) => p.getByLabel('Password'),
  signIn: (p: Page) => p.getByRole('button', { name: 'Sign in' }),
  alarms: (p: Page) => p.getByRole('table', { name: 'Active alarms' }),
  liveValues: (p: Page) => p.getByRole('table', { name: 'Live values' }),
  tickets: (p: Page) => p.getByRole('table', { name: 'Tickets' }),
  connection: (p: Page) => p.getByRole('status'),
};

describe.skipIf(!browserBinary.ok)('dashboard in Chromium', () => {
  let t: TestStack;
  let browser: BrowserContext;
  let profile: string;

  beforeAll(async () => {
    if (!existsSync(join(DASHBOARD_DIR, 'index.html'))) {
      execFileSync('npm', ['run', 'build'], { cwd: fileURLToPath(new URL('..', import.meta.url)), stdio: 'ignore' });
    }
    t = await startTestStack();
    profile = mkdtempSync(join(tmpdir(), 'vigil-chromium-'));
    // A fresh profile each run (playwright takes the user-data-dir as an argument, not a flag).
    browser = await chromium.launchPersistentContext(profile, {
      executablePath: browserBinary.path,
      headless: true,
      viewport: { width: 1400, height: 900 },
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await t?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  it('refuses a wrong password with a clear message', async () => {
    const page = await browser.newPage();
    await page.goto(t.url);
    await ui.username(page).fill('operator');
    await ui.password(page).fill('not-the-password');
    await ui.signIn(page).click();
    await expect.poll(() => page.getByRole('alert').textContent(), { timeout: 5000 }).toMatch(/wrong username or password/i);
    await page.close();
  });

  it('signs in as the operator and watches a pump alarm appear live', async () => {
    const page = await browser.newPage();
    await page.goto(t.url);
    await ui.username(page).fill('operator');
    await ui.password(page).fill('vigil-demo');
    await ui.signIn(page).click();

    await expect.poll(() => ui.connection(page).textContent(), { timeout: 10_000 }).toMatch(/live/i);
    await expect.poll(() => ui.liveValues(page).getByText('pump-b1-1.discharge_pressure').count(), { timeout: 10_000 }).toBeGreaterThan(0);
    expect(await ui.alarms(page).locator('tr[data-alarm-id]').count()).toBe(0);

    // An engineer injects cavitation through the API while the operator watches.
    const engineer = await t.login('engineer');
    await expect.poll(async () => (await t.call(engineer, 'GET', '/api/simulators')).body?.devices?.some((d: { device: string }) => d.device === 'booster-1') ?? false, { timeout: 10_000 }).toBe(true);
    expect((await t.call(engineer, 'POST', '/api/simulators/booster-1/faults', { fault: 'cavitation' })).status).toBe(200);

    const row = ui.alarms(page).locator('tr[data-alarm-id]', { hasText: 'pump-b1-1' });
    await expect.poll(() => row.count(), { timeout: 10_000 }).toBe(1);
    expect(await row.getAttribute('data-state')).toBe('unacknowledged-active');
    expect(await row.textContent()).toMatch(/discharge pressure low/i);
    await page.screenshot({ path: join(tmpdir(), 'vigil-dashboard-alarm.png'), fullPage: true });

    await row.getByRole('button', { name: 'Acknowledge' }).click();
    await expect.poll(() => row.getAttribute('data-state'), { timeout: 5000 }).toBe('acknowledged-active');
    await expect.poll(() => ui.tickets(page).getByText('pump-b1-1').count(), { timeout: 5000 }).toBeGreaterThan(0);
    await page.close();
  });
});
