// The end-to-end rig: a real agent (`tally agent`) on loopback over a real SQLite file filled by
// `tally demo`, serving the built renderer, and one headless Chromium driven by playwright-core.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type BrowserContextOptions, type Page } from 'playwright-core';
import { readAgentInfo, readToken } from '../../src/client/discovery';

export const CHROMIUM = process.env.TALLY_CHROMIUM ?? '/usr/bin/chromium';
export const RENDERER_INDEX = path.resolve('out/renderer/index.html');

export interface Agent {
  readonly dir: string;
  readonly db: string;
  readonly url: string;
  readonly token: string;
  readonly dashboardUrl: string;
  readonly env: Record<string, string>;
  /** The agent's clock now (it started at TALLY_NOW), or null when it runs on the machine's clock. */
  clock(): number | null;
  stop(): Promise<void>;
}

/**
 * The instant every end-to-end test starts at, whatever the machine's date: the agent and each
 * `tally` run get it as TALLY_NOW, the browser as its clock (both then advance in real time).
 * Mid-month and mid-day, so a run of a few minutes never crosses a day or month boundary.
 */
export const E2E_NOW = '2026-06-15T12:00:00.000Z';

/** The environment every `tally` run of a test shares: its own home, config and database, and the clock. */
export function testEnv(dir: string, now: string | null = E2E_NOW): Record<string, string> {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: dir,
    TALLY_HOME: dir,
    TALLY_CONFIG: path.join(dir, 'config.json'),
  };
  if (now) env.TALLY_NOW = now;
  return env;
}

/**
 * A browser context whose clock reads what the agent's does (then runs): pages compare the agent's
 * timestamps with their own `Date.now()` ("the price in force now"). It starts a little ahead of
 * the agent (counted from just before the agent was spawned), never behind it.
 */
export async function newContext(browser: Browser, agent: Agent, options: BrowserContextOptions = {}): Promise<BrowserContext> {
  const context = await browser.newContext(options);
  const now = agent.clock();
  if (now !== null) await context.clock.install({ time: now });
  return context;
}

export function tally(args: readonly string[], env: Record<string, string>): string {
  const r = spawnSync(process.execPath, [path.resolve('bin/tally.mjs'), ...args], { encoding: 'utf8', env, timeout: 120_000 });
  if (r.status !== 0) throw new Error(`tally ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}

/**
 * A temporary data folder with `days` of demo usage (0: an empty database), and an agent on a free loopback port. The
 * collectors are off so the only records are the demo's and the test's own, and the writer
 * commits within a second.
 */
export async function startAgent(options: {
  days: number;
  name?: string;
  /** An existing database, used through a link in the temp folder (its agent files stay there). */ link?: string;
  /** The agent's starting instant (TALLY_NOW); null for the machine's clock. Default E2E_NOW. */
  now?: string | null;
}): Promise<Agent> {
  if (!fs.existsSync(RENDERER_INDEX)) throw new Error('the renderer is not built: run `npm run build:ui` (npm test does it)');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `tally-${options.name ?? 'e2e'}-`));
  const now = options.now === undefined ? E2E_NOW : options.now;
  const env = testEnv(dir, now);
  fs.writeFileSync(
    env.TALLY_CONFIG!,
    JSON.stringify({
      writer: { batchTimeoutSeconds: 0.5 },
      collectors: { storage: { enabled: false }, bandwidth: { enabled: false }, compute: { enabled: false } },
    }),
  );
  const db = path.join(dir, 'tally.db');
  if (options.link) fs.symlinkSync(path.resolve(options.link), db);
  else if (options.days > 0) tally(['demo', '--days', String(options.days), '--db', db, '--json'], env);
  const spawnedAt = Date.now();
  const child = spawn(process.execPath, [path.resolve('bin/tally.mjs'), 'agent', '--db', db, '--port', '0'], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // The agent announces itself the documented way: agent.json and agent.token beside the database.
  let output = '';
  child.stdout!.on('data', (c: Buffer) => (output = (output + c.toString()).slice(-20_000)));
  child.stderr!.on('data', (c: Buffer) => (output = (output + c.toString()).slice(-20_000)));
  const deadline = Date.now() + 60_000;
  let info = readAgentInfo(dir);
  while (!(info && info.pid === child.pid)) {
    if (child.exitCode !== null) throw new Error(`the agent exited (${child.exitCode}):\n${output}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`the agent did not start in 60 s:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 100));
    info = readAgentInfo(dir);
  }
  const token = readToken(dir)!;
  const found = { url: info.url, dashboardUrl: `${info.url}/?token=${token}` };
  return {
    dir,
    db,
    url: found.url,
    token,
    dashboardUrl: found.dashboardUrl,
    env,
    clock: () => (now === null ? null : Date.parse(now) + (Date.now() - spawnedAt)),
    stop: () => stopChild(child, dir),
  };
}

async function stopChild(child: ChildProcess, dir: string): Promise<void> {
  if (child.exitCode === null) {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
    if (child.exitCode === null) child.kill('SIGKILL');
  }
  fs.rmSync(dir, { recursive: true, force: true });
}

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}

/** A page signed in to the agent's dashboard (the token link trades for a session cookie). */
export async function openDashboard(browser: Browser, agent: Agent, colorScheme: 'light' | 'dark' = 'light'): Promise<Page> {
  const context = await newContext(browser, agent, { viewport: { width: 1280, height: 860 }, colorScheme, acceptDownloads: false });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(m.text());
  });
  (page as Page & { problems?: string[] }).problems = problems;
  await page.goto(agent.dashboardUrl);
  await page.waitForSelector('[data-testid="overview"][data-ready="true"]', { timeout: 20_000 });
  return page;
}

/** Errors the page logged (CSP violations, exceptions): a healthy page has none. */
export function pageProblems(page: Page): string[] {
  return (page as Page & { problems?: string[] }).problems ?? [];
}

export async function go(page: Page, hash: string, readySelector: string): Promise<void> {
  await page.evaluate((h) => {
    (globalThis as unknown as { location: { hash: string } }).location.hash = h;
  }, hash);
  await page.waitForSelector(readySelector, { timeout: 20_000 });
  // And nothing on the page still loading.
  for (let i = 0; i < 200 && (await page.locator('.state-loading').count()) > 0; i++) await page.waitForTimeout(100);
}

/**
 * How many pixels of a canvas are close to `hex` (a dataset's colour): a drawn chart has many,
 * a blank or axes-only canvas none.
 */
export async function pixelsOfColour(page: Page, selector: string, hex: string): Promise<number> {
  return page.$eval(
    selector,
    (canvas, colour) => {
      const c = canvas as unknown as Canvas;
      const ctx = c.getContext('2d')!;
      const { data } = ctx.getImageData(0, 0, c.width, c.height);
      const r = parseInt(colour.slice(1, 3), 16);
      const g = parseInt(colour.slice(3, 5), 16);
      const b = parseInt(colour.slice(5, 7), 16);
      let n = 0;
      for (let i = 0; i < data.length; i += 4) {
        if (data[i + 3]! > 200 && Math.abs(data[i]! - r) < 24 && Math.abs(data[i + 1]! - g) < 24 && Math.abs(data[i + 2]! - b) < 24) n++;
      }
      return n;
    },
    hex,
  );
}

/** The part of a canvas the pixel count reads (this file compiles without the DOM library). */
interface Canvas {
  readonly width: number;
  readonly height: number;
  getContext(kind: '2d'): { getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray } } | null;
}

export async function apiCall<T>(agent: Agent, name: string, args: unknown): Promise<T> {
  const res = await fetch(`${agent.url}/api/call/${name}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${agent.token}`, 'content-type': 'application/json' },
    body: JSON.stringify(args),
  });
  const body = (await res.json()) as { ok: boolean; data?: T; error?: { message: string } };
  if (!body.ok) throw new Error(`${name}: ${body.error?.message}`);
  return body.data as T;
}
