// Desktop exports: ask where to save, then have the agent write the export there.
import type { ApiReply } from '../core/api/reply';
import type { ExportRequest, SavedExport } from '../preload/index';
import type { AgentLink } from './agent-link';

export function exportFileName(request: ExportRequest, now = Date.now()): string {
  const period = request.month ?? (request.from && request.to ? `${request.from}_${request.to}` : new Date(now).toISOString().slice(0, 7));
  const safe = (s: string) => s.replace(/[^A-Za-z0-9._-]/g, '-');
  return `tally-${safe(request.service ?? 'all')}-${safe(period)}.${request.format}`;
}

export async function saveExport(
  link: Pick<AgentLink, 'call'>,
  request: ExportRequest,
  askPath: (suggested: string) => Promise<string | null>,
): Promise<ApiReply<SavedExport | null>> {
  if (typeof request !== 'object' || request === null || !['csv', 'json', 'xlsx'].includes(request.format)) {
    return { ok: false, error: { code: 'invalid_input', message: 'format: must be csv, json or xlsx', field: 'format' } };
  }
  const target = await askPath(exportFileName(request));
  if (target === null) return { ok: true, data: null };
  const { format, from, to, month, service } = request;
  // The save dialog already asked before replacing an existing file.
  const reply = await link.call('export.file', { format, from, to, month, service, path: target, overwrite: true });
  if (!reply.ok) return reply;
  return {
    ok: true,
    data: { path: reply.data.file, records: reply.data.records, bytes: reply.data.bytes, totalCost: reply.data.summary.total_cost },
  };
}
