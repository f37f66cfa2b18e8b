// GET /v1/export?format=csv|json|xlsx&month=…|from=…&to=…&service=…: the browser dashboard's
// download. The export is written to a private temporary file (one consistent snapshot, and
// XLSX needs a file), then streamed as an attachment and removed. The session cookie (or the
// admin token) opens it like every other route.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { EXPORT_FORMATS, type ExportFormat } from '../../core/exports/shape';
import { invalid } from '../../core/errors';
import { parseRange } from '../../core/period';
import { exportRecords } from '../../exports/export';
import type { AgentContext } from '../../handlers/context';
import { scopedCustomer } from '../gates';
import { customerParam, oneParam } from './reports';

const PARAMS = new Set(['format', 'from', 'to', 'month', 'service', 'customer']);
const TYPES: Record<ExportFormat, string> = {
  csv: 'text/csv; charset=utf-8',
  json: 'application/json; charset=utf-8',
  xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
};

export function downloadRoutes(app: FastifyInstance, ctx: AgentContext): void {
  app.get('/v1/export', async (req, reply) => {
    const query = req.query as Record<string, unknown>;
    for (const k of Object.keys(query)) if (!PARAMS.has(k)) throw invalid(k, `is not an export parameter (use ${[...PARAMS].join(', ')})`);
    const format = (oneParam(query, 'format') ?? 'csv') as ExportFormat;
    if (!EXPORT_FORMATS.includes(format)) throw invalid('format', `"${format}" must be csv, json or xlsx`);
    const range = parseRange({ from: oneParam(query, 'from'), to: oneParam(query, 'to'), month: oneParam(query, 'month') }, ctx.now());
    const service = oneParam(query, 'service');
    if (service !== undefined && !ctx.writer.services.has(service)) throw invalid('service', `unknown service "${service.slice(0, 64)}"`);
    const customerId = scopedCustomer(req, customerParam(query, 'customer'));
    await ctx.writer.flush();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tally-download-'));
    const cleanup = () => fs.rmSync(dir, { recursive: true, force: true });
    try {
      const r = await exportRecords({
        dbPath: ctx.tdb.path,
        format,
        dir,
        ...range,
        service,
        customerId,
        currency: ctx.config.currency,
        now: ctx.now(),
      });
      const stream = fs.createReadStream(r.file);
      stream.on('close', cleanup);
      return reply
        .header('content-type', TYPES[format])
        .header('content-length', String(r.bytes))
        .header('content-disposition', `attachment; filename="${path.basename(r.file)}"`)
        .header('x-tally-records', String(r.records))
        .header('x-tally-total-cost', r.summary.total_cost)
        .send(stream);
    } catch (err) {
      cleanup();
      throw err;
    }
  });
}
