// The Electron main process, kept thin: one window, the tray, notifications and save dialogs.
// All data work happens in the agent; main attaches to a running one or starts the agent's code
// in a utilityProcess, then relays the renderer's typed calls and the agent's events.

import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { app, BrowserWindow, dialog, ipcMain, Menu, nativeImage, Notification, safeStorage, session, Tray, utilityProcess } from 'electron';
import type { HandlerName } from '../core/api/contract';
import type { ApiReply } from '../core/api/reply';
import { discoverAgent, dataDirOf, writerOf } from '../client/discovery';
import { defaultDbPath } from '../config/paths';
import { CALL_CHANNEL, EVENT_CHANNEL, SAVE_EXPORT_CHANNEL, isHandlerName } from '../preload/channels';
import type { ExportRequest } from '../preload/index';
import { agentLaunch, decideAgent } from './agent-decision';
import { AgentLink } from './agent-link';
import { saveExport } from './export';
import { SecretStore } from './secrets';
import { isAppUrl, isTrustedSender, windowOptions, withCsp, type AppOrigin } from './security';
import { trayText } from './tray-text';

const here = path.dirname(fileURLToPath(import.meta.url));
const preloadPath = path.join(here, '../preload/preload.cjs');
const rendererIndex = path.join(here, '../renderer/index.html');
const devUrl = !app.isPackaged ? process.env.ELECTRON_RENDERER_URL : undefined;
const origin: AppOrigin = devUrl ? { devOrigin: devUrl } : { indexFileUrl: pathToFileURL(rendererIndex).href };
const dbPath = process.env.TALLY_DB || defaultDbPath();

let window: BrowserWindow | null = null;
let tray: Tray | null = null;
let link: AgentLink | null = null;
let ownAgent: Electron.UtilityProcess | ChildProcess | null = null;
let secrets: SecretStore | null = null;

if (!app.requestSingleInstanceLock()) {
  app.quit();
} else {
  app.on('second-instance', () => {
    if (!window) return;
    if (window.isMinimized()) window.restore();
    window.show();
    window.focus();
  });
  app.whenReady().then(start, (err: unknown) => fail(err));
}

async function start(): Promise<void> {
  hardenSessions();
  registerIpc();
  createWindow();
  try {
    link = await connectAgent();
  } catch (err) {
    fail(err);
    return;
  }
  link.onEvent((event, payload) => {
    window?.webContents.send(EVENT_CHANNEL, { event, payload });
    if (event === 'records.flushed') scheduleTrayUpdate();
    if ((event as string) === 'alerts.new') notifyAlert(payload);
  });
  // On (re)connect the window may have missed events or asked before the agent was ready:
  // an empty flush notice makes every view read again.
  link.onConnect(() =>
    window?.webContents.send(EVENT_CHANNEL, {
      event: 'records.flushed',
      payload: { records: 0, services: [], at: new Date().toISOString() },
    }),
  );
  createTray();
  void restoreSyncTokens(link);
}

function hardenSessions(): void {
  session.defaultSession.webRequest.onHeadersReceived((details, callback) =>
    callback({ responseHeaders: withCsp(details.responseHeaders) }),
  );
  session.defaultSession.setPermissionRequestHandler((_wc, _permission, callback) => callback(false));
  session.defaultSession.setPermissionCheckHandler(() => false);
  app.on('web-contents-created', (_e, contents) => {
    contents.on('will-navigate', (event, url) => {
      if (!isAppUrl(url, origin)) event.preventDefault();
    });
    contents.on('will-redirect', (event, url) => {
      if (!isAppUrl(url, origin)) event.preventDefault();
    });
    contents.on('will-attach-webview', (event) => event.preventDefault());
    contents.setWindowOpenHandler(() => ({ action: 'deny' }));
  });
}

function createWindow(): void {
  window = new BrowserWindow(windowOptions(preloadPath));
  window.once('ready-to-show', () => window?.show());
  window.on('closed', () => (window = null));
  if (devUrl) void window.loadURL(devUrl);
  else void window.loadFile(rendererIndex);
}

function registerIpc(): void {
  const notReady: ApiReply<never> = { ok: false, error: { code: 'unavailable', message: 'Connecting to the Tally agent…' } };
  ipcMain.handle(CALL_CHANNEL, async (event, name: unknown, args: unknown) => {
    if (!isTrustedSender(event.senderFrame, origin))
      return { ok: false, error: { code: 'forbidden', message: 'this page may not use the Tally API' } };
    if (!isHandlerName(name)) return { ok: false, error: { code: 'not_found', message: `no such API call: ${String(name)}` } };
    if (typeof args !== 'object' || args === null || Array.isArray(args))
      return { ok: false, error: { code: 'invalid_input', message: 'args: must be an object', field: 'args' } };
    if (!link) return notReady;
    if (name === 'sync.targets.set') keepSyncToken(args as { target?: { name?: unknown; token?: unknown } });
    return link.call(name as HandlerName, args as never);
  });
  ipcMain.handle(SAVE_EXPORT_CHANNEL, async (event, request: ExportRequest) => {
    if (!isTrustedSender(event.senderFrame, origin))
      return { ok: false, error: { code: 'forbidden', message: 'this page may not export' } };
    if (!link) return notReady;
    return saveExport(link, request, async (suggested) => {
      const options = {
        defaultPath: path.join(app.getPath('downloads'), suggested),
        filters: [{ name: suggested.split('.').pop()!.toUpperCase(), extensions: [suggested.split('.').pop()!] }],
      };
      const result = window ? await dialog.showSaveDialog(window, options) : await dialog.showSaveDialog(options);
      return result.canceled || !result.filePath ? null : result.filePath;
    });
  });
}

async function connectAgent(): Promise<AgentLink> {
  const dataDir = dataDirOf(dbPath);
  for (let attempt = 0; ; attempt++) {
    const found = await discoverAgent(dataDir);
    const decision = decideAgent({ wantedDb: dbPath, found, lock: writerOf(dbPath) });
    if (decision.action === 'attach') return new AgentLink(decision.agent);
    if (decision.action === 'start' && !ownAgent) {
      const launch = agentLaunch({
        packaged: app.isPackaged,
        mainDir: here,
        appRoot: app.getAppPath(),
        db: decision.db,
        node: process.env.TALLY_NODE,
      });
      const onExit = (code: number | null) => {
        ownAgent = null;
        if (!quitting) fail(new Error(`the Tally agent stopped (exit code ${code})`));
      };
      if (launch.kind === 'utility') {
        const child = utilityProcess.fork(launch.modulePath, [...launch.args], { serviceName: 'Tally agent', stdio: 'inherit' });
        child.once('exit', onExit);
        ownAgent = child;
      } else {
        const child = spawn(launch.command, [...launch.args], {
          stdio: 'inherit',
          env: { ...process.env, ELECTRON_RUN_AS_NODE: undefined },
        });
        child.once('exit', onExit);
        ownAgent = child;
      }
    }
    if (attempt > 120) throw new Error(decision.action === 'wait' ? decision.reason : 'the Tally agent did not start');
    await new Promise((r) => setTimeout(r, 250));
  }
}

// --- tray ------------------------------------------------------------------------------------------
let trayTimer: NodeJS.Timeout | null = null;

function createTray(): void {
  const icon = nativeImage.createFromPath(path.join(here, '../../resources/tray.png'));
  tray = new Tray(icon.isEmpty() ? nativeImage.createEmpty() : icon);
  tray.on('click', () => window?.show());
  void updateTray();
}

function scheduleTrayUpdate(): void {
  trayTimer ??= setTimeout(() => {
    trayTimer = null;
    void updateTray();
  }, 2000);
}

async function updateTray(): Promise<void> {
  if (!tray || !link) return;
  const report = await link.call('report.usage', {});
  const alerts = await activeAlerts();
  const text = trayText({ cost: report.ok ? report.data.totalCost : null, alerts });
  tray.setToolTip(text.tooltip);
  if (process.platform === 'darwin') tray.setTitle(text.title);
  tray.setContextMenu(
    Menu.buildFromTemplate([
      { label: text.tooltip.replace(/^Tally: /, ''), enabled: false },
      { type: 'separator' },
      { label: 'Open Tally', click: () => (window ? window.show() : createWindow()) },
      { label: 'Quit', click: () => app.quit() },
    ]),
  );
}

/** Quotas at warning level or above in their current period. */
async function activeAlerts(): Promise<number | null> {
  if (!link) return null;
  const reply = await link.call('alerts.current', {});
  return reply.ok ? reply.data.filter((q) => q.level !== null).length : null;
}

// --- secrets ---------------------------------------------------------------------------------------
// Sync tokens typed into the app are also kept encrypted by the OS keychain (safeStorage), so a
// target can be given its token back when the app starts its own agent on a fresh database.
function secretStore(): SecretStore {
  return (secrets ??= new SecretStore(path.join(app.getPath('userData'), 'secrets.json'), safeStorage));
}

function keepSyncToken(args: { target?: { name?: unknown; token?: unknown } }): void {
  const t = args?.target;
  if (typeof t?.name !== 'string' || typeof t.token !== 'string' || t.token === '') return;
  try {
    secretStore().set(`sync:${t.name}`, t.token);
  } catch {
    // No keychain here: the agent still has the token; the app just keeps no copy.
  }
}

async function restoreSyncTokens(agent: AgentLink): Promise<void> {
  const targets = await agent.call('sync.targets.list', {});
  if (!targets.ok) return;
  for (const t of targets.data) {
    if (t.tokenSet || t.origin !== 'settings') continue;
    const token = secretStore().get(`sync:${t.name}`);
    if (token)
      await agent.call('sync.targets.set', {
        target: { name: t.name, kind: t.kind, url: t.url, batchSize: t.batchSize, enabled: t.enabled, options: t.options, token },
      });
  }
}

function notifyAlert(payload: unknown): void {
  if (!Notification.isSupported()) return;
  const p = payload as { service?: string; level?: string; message?: string };
  new Notification({
    title: `Tally: ${p.service ?? 'usage'} ${p.level ?? 'alert'}`,
    body: p.message ?? 'A quota threshold was crossed.',
  }).show();
  scheduleTrayUpdate();
}

// --- lifecycle -------------------------------------------------------------------------------------
let quitting = false;

function fail(err: unknown): void {
  const message = err instanceof Error ? err.message : String(err);
  dialog.showErrorBox('Tally', message);
}

app.on('before-quit', () => {
  quitting = true;
  link?.close();
  ownAgent?.kill();
});

app.on('window-all-closed', () => {
  if (process.platform !== 'darwin') app.quit();
});

app.on('activate', () => {
  if (!window) createWindow();
});
