// One delivery attempt to one hook: a signed POST, or a command with the alert on stdin.
// Whatever happens comes back as a result (never a throw), so the dispatcher can log and retry.
import { spawn } from 'node:child_process';
import type { CommandHookConfig, WebhookConfig } from './config';
import { signPayload } from './sign';

export interface AttemptResult {
  readonly ok: boolean;
  /** HTTP status or exit code. */
  readonly status: number | null;
  readonly error: string | null;
}

export interface WebhookRequest {
  readonly body: string;
  /** Stable across retries: receivers drop a delivery they have already taken. */
  readonly deliveryId: string;
  readonly event: string;
  readonly now: number;
  readonly timeoutMs: number;
}

export async function postWebhook(hook: WebhookConfig, req: WebhookRequest): Promise<AttemptResult> {
  try {
    const res = await fetch(hook.url, {
      method: 'POST',
      redirect: 'manual',
      signal: AbortSignal.timeout(req.timeoutMs),
      headers: {
        'content-type': 'application/json',
        'user-agent': 'tally-alert-hooks',
        'tally-signature': signPayload(hook.secret, req.body, req.now),
        'tally-timestamp': String(Math.floor(req.now / 1000)),
        'tally-delivery': req.deliveryId,
        'tally-event': req.event,
      },
      body: req.body,
    });
    await res.arrayBuffer().catch(() => undefined);
    return res.ok ? { ok: true, status: res.status, error: null } : { ok: false, status: res.status, error: `HTTP ${res.status}` };
  } catch (err) {
    const e = err as Error;
    const timedOut = e.name === 'TimeoutError' || e.name === 'AbortError';
    return { ok: false, status: null, error: timedOut ? `no answer within ${req.timeoutMs} ms` : `${e.message}${causeOf(e)}` };
  }
}

function causeOf(e: Error): string {
  const c = (e as { cause?: { code?: string; message?: string } }).cause;
  return c ? ` (${c.code ?? c.message ?? 'unknown cause'})` : '';
}

/** Runs the command without a shell; the alert JSON on stdin; exit 0 is a delivery. */
export function runCommandHook(hook: CommandHookConfig, body: string, timeoutMs: number): Promise<AttemptResult> {
  return new Promise((resolve) => {
    let stderr = '';
    let settled = false;
    const done = (r: AttemptResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(r);
    };
    const child = spawn(hook.command[0]!, hook.command.slice(1), { stdio: ['pipe', 'ignore', 'pipe'] });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      done({ ok: false, status: null, error: `did not finish within ${timeoutMs} ms` });
    }, timeoutMs);
    child.stderr.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString('utf8')).slice(-500);
    });
    child.on('error', (err) => done({ ok: false, status: null, error: err.message }));
    child.on('close', (code, signal) => {
      if (code === 0) done({ ok: true, status: 0, error: null });
      else done({ ok: false, status: code, error: `exited with ${code ?? signal}${stderr.trim() ? `: ${stderr.trim()}` : ''}` });
    });
    // A command that does not read stdin must not fail the delivery (EPIPE).
    child.stdin.on('error', () => undefined);
    child.stdin.end(body);
  });
}
