// tally track <service> … and tally record: one record, acknowledged before the command exits.
import { Command } from 'commander';
import { formatMoney, formatNanos } from '../../core/money';
import type { RecordInput } from '../../core/records';
import { build, type StoredRef, type TrackOptions } from '../../core/tracking';
import { invalid } from '../../core/errors';
import { parseDateArg, parseJsonObjectArg, parseNumberArg } from '../args';
import { configFor, globals } from '../context';
import { print, printJson } from '../output';
import { withSink } from '../sink';
import { checkApiArgs, checkDatabaseArgs, checkStorageArgs, withUsage } from './track-checks';

interface RecordFlags {
  user?: string;
  at?: string;
  id?: string;
}

function trackOptions(cmd: Command): TrackOptions {
  const o = cmd.opts() as RecordFlags;
  const g = globals(cmd);
  return {
    customerId: g.customer,
    userId: o.user,
    recordedAt: o.at === undefined ? undefined : parseDateArg('at', o.at),
    id: o.id,
  };
}

async function store(cmd: Command, inputs: RecordInput[]): Promise<void> {
  const g = globals(cmd);
  const config = configFor(g);
  const stored: StoredRef[] = await withSink(config, (sink) =>
    inputs.length === 1 ? sink.record(inputs[0]!).then((s) => [s]) : sink.recordMany(inputs),
  );
  if (g.json) return printJson(inputs.length === 1 ? stored[0] : stored);
  // Money for people to the minor unit; the exact cost beside it (an event often costs less than a cent).
  for (const s of stored)
    print(
      `${s.inserted ? 'recorded' : 'already recorded'} ${s.id}  cost ${formatMoney(s.costNanos, config.currency)} (exact ${formatNanos(s.costNanos)})`,
    );
}

/** Runs a `tally track` action; an argument error also says which order is expected. */
async function checked(kind: string, action: () => Promise<void>): Promise<void> {
  try {
    await action();
  } catch (err) {
    throw withUsage(kind, err);
  }
}

function withRecordFlags(cmd: Command): Command {
  return cmd
    .option('--user <id>', 'user id beside the customer (second seed: tenant users)')
    .option('--at <time>', 'when the usage happened (ISO 8601; default now)')
    .option('--id <ulid>', 'a ULID that makes a retry idempotent');
}

export function registerTrack(program: Command): void {
  const track = program.command('track').description('record one usage event of a built-in service');

  withRecordFlags(track.command('api').argument('<endpoint>').argument('<method>').argument('<status>'))
    .description('an API request: endpoint, method, status')
    .action(async (endpoint: string, method: string, status: string, _o, cmd: Command) =>
      checked('api', () => {
        checkApiArgs(endpoint, method);
        const code = parseNumberArg('status', status, { integer: true, min: 100 });
        if (code > 599) throw invalid('status', `${code} is not an HTTP status (100 to 599)`);
        return store(cmd, [build.api(endpoint, method, code, trackOptions(cmd))]);
      }),
    );

  withRecordFlags(track.command('storage').argument('<bytes>').argument('<hours>'))
    .description('storage held: bytes for hours (recorded as byte-seconds, shown as GB-hours)')
    .action(async (bytes: string, hours: string, _o, cmd: Command) =>
      checked('storage', () => {
        const b = parseNumberArg('bytes', bytes, { integer: true, min: 0 });
        const h = parseNumberArg('hours', hours, { min: 0 });
        checkStorageArgs(b, h);
        return store(cmd, [build.storage(b, h, trackOptions(cmd))]);
      }),
    );

  withRecordFlags(track.command('bandwidth').argument('<bytes>').argument('<direction>', 'ingress or egress'))
    .description('bytes transferred in one direction')
    .action(async (bytes: string, direction: string, _o, cmd: Command) =>
      checked('bandwidth', () => {
        const b = parseNumberArg('bytes', bytes, { integer: true, min: 0 });
        if (direction !== 'ingress' && direction !== 'egress') throw invalid('direction', `"${direction}" must be ingress or egress`);
        return store(cmd, [build.bandwidth(b, direction, trackOptions(cmd))]);
      }),
    );

  withRecordFlags(track.command('compute').argument('<cpu_seconds>').argument('[metadata]', 'JSON object, e.g. {"instance":"web-1"}'))
    .description('CPU-seconds used (shown as CPU-hours)')
    .action(async (cpu: string, metadata: string | undefined, _o, cmd: Command) =>
      store(cmd, [
        build.compute(parseNumberArg('cpu_seconds', cpu, { min: 0 }), {
          ...trackOptions(cmd),
          metadata: parseJsonObjectArg('metadata', metadata),
        }),
      ]),
    );

  withRecordFlags(track.command('database').argument('<type>', 'SELECT, INSERT, …').argument('<duration_ms>'))
    .description('a database query: type and duration')
    .action(async (type: string, duration: string, _o, cmd: Command) =>
      checked('database', () => {
        checkDatabaseArgs(type);
        return store(cmd, [build.database(type, parseNumberArg('duration_ms', duration, { min: 0 }), trackOptions(cmd))]);
      }),
    );

  withRecordFlags(track.command('function').argument('<name>').argument('<duration_ms>').argument('<memory_mb>'))
    .description('a function invocation: name, duration, memory')
    .action(async (name: string, duration: string, memory: string, _o, cmd: Command) =>
      store(cmd, [
        build.function(
          name,
          parseNumberArg('duration_ms', duration, { min: 0 }),
          parseNumberArg('memory_mb', memory, { min: 0 }),
          trackOptions(cmd),
        ),
      ]),
    );

  withRecordFlags(track.command('llm').argument('<model>').argument('<provider>').argument('<input_tokens>').argument('<output_tokens>'))
    .description('an LLM call: input and output tokens (needs `tally services add --template llm`)')
    .action(async (model: string, provider: string, input: string, output: string, _o, cmd: Command) =>
      store(
        cmd,
        build.llm(
          {
            model,
            provider,
            inputTokens: parseNumberArg('input_tokens', input, { integer: true, min: 0 }),
            outputTokens: parseNumberArg('output_tokens', output, { integer: true, min: 0 }),
          },
          trackOptions(cmd),
        ),
      ),
    );

  withRecordFlags(track.command('document').argument('<pages>').argument('<document_type>'))
    .description('document pages processed (needs `tally services add --template document`)')
    .action(async (pages: string, type: string, _o, cmd: Command) =>
      store(cmd, [build.document(parseNumberArg('pages', pages, { integer: true, min: 0 }), type, trackOptions(cmd))]),
    );

  withRecordFlags(
    program
      .command('record')
      .argument('<service>')
      .argument('<quantity>', 'in the service base unit')
      .argument('[metadata]', 'JSON object'),
  )
    .description('record any service: service, quantity, metadata')
    .action(async (service: string, quantity: string, metadata: string | undefined, _o, cmd: Command) => {
      const n = parseNumberArg('quantity', quantity);
      const record = build.record(service, n, parseJsonObjectArg('metadata', metadata), trackOptions(cmd));
      // Past 2^53 a double is not exact: the digits as typed, which validation parses exactly.
      return store(cmd, [Number.isInteger(n) && !Number.isSafeInteger(n) ? { ...record, quantity: quantity.trim() } : record]);
    });
}
