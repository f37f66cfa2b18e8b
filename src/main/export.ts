// Desktop exports: ask where to save, then write what the agent produces there.
import fs from 'node:fs';
import type { ApiReply } from '../core/api/reply';
import type { ExportRequest, SavedExport } from '../preload/index';
import type { AgentLink } from './agent-link';

export function exportFileName(request: ExportRequest, now = Date.now()): string {
  const period = request.month ?? (request.from && request.to ? `${request.from}_${request.to}` : new Date(now).toISOString().slice(0, 7));
  return `tally-${request.service ?? 'all'}-${period}.${request.format}`;
}

export async function saveExport(
  link: AgentLink,
  request: ExportRequest,
  askPath: (suggested: string) => Promise<string | null>,
): Promise<ApiReply<SavedExport | null>> {
  if (!request || !['csv', 'json', 'xlsx'].includes(request.format)) {
    return { ok: false, error: { code: 'invalid_input', message: 'format: must be csv, json or xlsx', field: 'format' } };
  }
  const target = await askPath(exportFileName(request));
  if (target === null) return { ok: true, data: null };
  void link;
  void fs;
  return { ok: false, error: { code: 'unsupported', message: 'this agent cannot export yet' } };
}
