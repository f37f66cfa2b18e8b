// HTTP for the sync worker: one request with a hard deadline covering the headers and the whole
// body (a hung endpoint fails after timeoutMs). Network failures come back as values, not throws,
// so the worker treats a refused connection, a reset mid-body and a timeout alike: retry later.
import type { HttpRequest, HttpResponse } from '../core/sync/types';

export type TransportResult = { ok: true; res: HttpResponse } | { ok: false; reason: string; timedOut: boolean };
export type Transport = (req: HttpRequest, timeoutMs: number) => Promise<TransportResult>;

const MAX_BODY_BYTES = 8 * 1024 * 1024;

export const fetchTransport: Transport = async (req, timeoutMs) => {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  const where = new URL(req.url).host;
  try {
    const res = await fetch(req.url, {
      method: req.method,
      headers: req.headers,
      body: req.body,
      signal: controller.signal,
      redirect: 'manual',
    });
    const buf = await res.arrayBuffer();
    if (buf.byteLength > MAX_BODY_BYTES)
      return { ok: false, reason: `${where} answered with a body over ${MAX_BODY_BYTES} bytes`, timedOut: false };
    const headers: Record<string, string> = {};
    res.headers.forEach((v, k) => (headers[k.toLowerCase()] = v));
    return { ok: true, res: { status: res.status, headers, body: new TextDecoder().decode(buf) } };
  } catch (err) {
    if (controller.signal.aborted) return { ok: false, reason: `no answer from ${where} within ${timeoutMs / 1000} s`, timedOut: true };
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    return { ok: false, reason: `cannot reach ${where}: ${cause?.code ?? cause?.message ?? (err as Error).message}`, timedOut: false };
  } finally {
    clearTimeout(timer);
  }
};
