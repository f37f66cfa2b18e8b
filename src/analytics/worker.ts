// The analytics worker thread (built as dist/analytics-worker.mjs): opens the database
// read-only and answers the heavy queries of analytics/heavy.ts, off the agent's event loop.
import { parentPort, workerData } from 'node:worker_threads';
import { toTallyError } from '../core/errors';
import { openDatabase } from '../storage/open';
import { HEAVY_QUERIES, type WorkerReply, type WorkerRequest } from './heavy';

const tdb = openDatabase((workerData as { db: string }).db, { readonly: true });

parentPort!.on('message', (req: WorkerRequest) => {
  const query = HEAVY_QUERIES[req.query] as (db: typeof tdb.db, args: unknown) => Promise<unknown>;
  query(tdb.db, req.args).then(
    (data) => parentPort!.postMessage({ id: req.id, ok: true, data } satisfies WorkerReply),
    (err: unknown) => {
      const e = toTallyError(err);
      parentPort!.postMessage({ id: req.id, ok: false, error: e.toJSON() } satisfies WorkerReply);
    },
  );
});
