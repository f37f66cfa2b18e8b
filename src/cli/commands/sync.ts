// tally sync: deliver records to billing endpoints without the agent (--once), the per-target
// status, targets (add/list/remove; tokens from a file or the environment, never printed), and
// records endpoints refused (list, retry-rejected).
import fs from 'node:fs';
import { Command } from 'commander';
import { invalid } from '../../core/errors';
import type { SyncTargetStatus } from '../../core/api/sync';
import type { TargetInput } from '../../core/sync/targets';
import { syncUntilDone, engineFor } from '../../sync/run';
import { allTargets, findTarget } from '../../sync/targets';
import { parseNumberArg, syncTarget } from '../args';
import { agentFor, callHandler } from '../call';
import { configFor, globals, withWriter } from '../context';
import { formatTable, print, printJson } from '../output';

const collect = (value: string, previous: string[] = []) => [...previous, value];

/** How long `tally sync` waits for a running agent's pass before reporting what is still pending. */
const AGENT_WAIT_S = 280;

function pairs(field: string, values: string[] | undefined): Record<string, string> | undefined {
  if (!values?.length) return undefined;
  const out: Record<string, string> = {};
  for (const v of values) {
    const i = v.indexOf('=');
    if (i <= 0 || i === v.length - 1) throw invalid(field, `"${v}" must be key=value`);
    out[v.slice(0, i)] = v.slice(i + 1);
  }
  return out;
}

function readToken(o: { token?: string; tokenFile?: string; tokenEnv?: string }): string | undefined {
  const given = [o.token, o.tokenFile, o.tokenEnv].filter((x) => x !== undefined).length;
  if (given > 1) throw invalid('token', 'give one of --token, --token-file, --token-env');
  if (o.tokenFile !== undefined) {
    let text: string;
    try {
      text = fs.readFileSync(o.tokenFile, 'utf8').trim();
    } catch (err) {
      throw invalid('token-file', `cannot read ${o.tokenFile}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    if (!text) throw invalid('token-file', `${o.tokenFile} is empty`);
    return text;
  }
  if (o.tokenEnv !== undefined) {
    const v = process.env[o.tokenEnv];
    if (!v) throw invalid('token-env', `environment variable ${o.tokenEnv} is not set`);
    return v;
  }
  return o.token;
}

function printStatus(rows: readonly SyncTargetStatus[]): void {
  if (rows.length === 0) return print('no sync targets: add one with `tally sync target add <name> --kind tally --url https://…`');
  print(
    formatTable(
      ['target', 'kind', 'pending', 'rejected', 'last success', 'next attempt', 'state'],
      rows.map((s) => [
        s.name,
        s.kind,
        s.pending,
        s.rejected,
        s.lastSuccess ?? 'never',
        s.nextAttempt ?? '',
        !s.enabled ? 'disabled' : s.stopped ? 'STOPPED' : s.lastError ? 'retrying' : 'ok',
      ]),
    ),
  );
  for (const s of rows) {
    if (s.stopped) print(`${s.name}: stopped: ${s.stopped}`);
    else if (s.lastError) print(`${s.name}: last error: ${s.lastError}`);
    for (const w of s.warnings) print(`${s.name}: warning: ${w}`);
  }
}

export function registerSync(program: Command): void {
  const sync = program
    .command('sync')
    .description('deliver records to billing endpoints (OpenMeter, Lago, Stripe, a Tally collector)')
    .option('--once', 'deliver everything pending to every target, then exit (the default without the agent)')
    .option('--target <name>', 'only this target')
    .option('--timeout <seconds>', 'give up waiting through backoffs after this long (exit 1)', '600')
    .action(async (o: { once?: boolean; target?: string; timeout?: string }, cmd: Command) => {
      const g = globals(cmd);
      const config = configFor(g);
      const timeout = o.timeout === undefined ? undefined : parseNumberArg('timeout', o.timeout, { min: 0 });
      // While an agent runs it does the sync (it is the database's only writer); else this process does, under the lock.
      const agent = await agentFor(config);
      const results = agent
        ? // Under fetch's 300 s wait for an answer's headers: a longer wait would read as "no answer".
          await callHandler(config, 'sync.now', { target: o.target, waitSeconds: Math.min(timeout ?? AGENT_WAIT_S, AGENT_WAIT_S) })
        : await withWriter(config, async (_writer, tdb) => {
            const engine = engineFor(
              config,
              tdb.sqlite,
              Date.now,
              g.json ? undefined : (l) => process.stderr.write(`tally sync: ${l.target}: ${l.error}\n`),
            );
            const targets = o.target ? [findTarget(config, tdb.sqlite, o.target)] : allTargets(config, tdb.sqlite);
            if (targets.length === 0) throw invalid('target', 'no sync targets configured (`tally sync target add …`)');
            for (const t of targets) await engine.clearBackoff(t.name);
            const abort = new AbortController();
            const onSignal = () => abort.abort();
            process.once('SIGINT', onSignal);
            try {
              return await syncUntilDone(engine, targets, {
                signal: abort.signal,
                ...(timeout === undefined ? {} : { deadline: Date.now() + timeout * 1000 }),
              });
            } finally {
              process.off('SIGINT', onSignal);
            }
          });
      if (g.json) printJson(results);
      else
        for (const r of results)
          print(`${r.target}: ${r.status}, ${r.delivered} delivered, ${r.rejected} rejected${r.error ? ` (${r.error})` : ''}`);
      // Anything left undelivered is a failure, named with its target and reason (cron mails it).
      const undelivered = results.filter((r) => r.status === 'stopped' || r.status === 'waiting');
      for (const r of undelivered)
        process.stderr.write(`tally: sync: ${r.target}: records left undelivered (${r.status}${r.error ? `: ${r.error}` : ''})\n`);
      if (undelivered.length > 0) process.exitCode = 1;
    });

  sync
    .command('status')
    .description('per target: pending records, rejected ones, last success, last error, next attempt, vendor-window warnings')
    .action(async (_o, cmd: Command) => {
      const g = globals(cmd);
      const config = configFor(g);
      const rows = await callHandler(config, 'sync.status', {});
      if (g.json) return printJson(rows);
      printStatus(rows);
    });

  const target = sync.command('target').description('sync targets kept in the database (those in the config file are listed too)');
  target
    .command('add')
    .argument('<name>', 'a name for the target (a-z, 0-9, _ -)')
    .description('add or replace a target; the token is stored, never printed')
    .requiredOption('--kind <kind>', 'openmeter, lago, stripe or tally')
    .requiredOption('--url <url>', 'the endpoint (https://; http only for localhost)')
    .option('--token <token>', 'the API key / agent token (prefer --token-file or --token-env: command lines are visible to other users)')
    .option('--token-file <file>', 'read the token from this file')
    .option('--token-env <name>', 'read the token from this environment variable')
    .option('--batch-size <n>', 'records per request (Lago, Stripe: at most 100)')
    .option('--event-name <service=name>', 'vendor meter / metric code for a service (repeatable)', collect)
    .option(
      '--map-customer <tally=vendor>',
      'vendor customer (Stripe customer id, Lago subscription) for a Tally customer (repeatable)',
      collect,
    )
    .option('--stripe-api <v1|v2>', 'Stripe: v1 meter events (default; one event a request) or the v2 meter event stream (100 a request)')
    .option('--stream-url <url>', 'Stripe: the meter event stream base URL')
    .option('--stripe-version <version>', 'Stripe: the Stripe-Version header')
    .option('--value-property <name>', 'Lago: the property the billable metric sums (default value)')
    .option('--disabled', 'keep it, but do not sync')
    .action(async (name: string, o: Record<string, string | string[] | boolean | undefined>, cmd: Command) => {
      const g = globals(cmd);
      const config = configFor(g);
      const token = readToken(o as { token?: string; tokenFile?: string; tokenEnv?: string });
      const options: NonNullable<TargetInput['options']> = {
        ...(pairs('event-name', o.eventName as string[] | undefined) ? { eventNames: pairs('event-name', o.eventName as string[])! } : {}),
        ...(pairs('map-customer', o.mapCustomer as string[] | undefined)
          ? { customers: pairs('map-customer', o.mapCustomer as string[])! }
          : {}),
        ...(o.stripeApi ? { api: o.stripeApi as 'v1' | 'v2' } : {}),
        ...(o.streamUrl ? { streamUrl: o.streamUrl as string } : {}),
        ...(o.stripeVersion ? { stripeVersion: o.stripeVersion as string } : {}),
        ...(o.valueProperty ? { valueProperty: o.valueProperty as string } : {}),
      };
      const input = {
        name,
        kind: o.kind,
        url: o.url,
        ...(token === undefined ? {} : { token }),
        ...(o.batchSize === undefined ? {} : { batchSize: parseNumberArg('batch-size', o.batchSize as string, { integer: true, min: 1 }) }),
        enabled: !o.disabled,
        ...(Object.keys(options).length ? { options } : {}),
      };
      // The contract's schema checks the flags' values (kind, url, …) and names the one that is wrong.
      const views = await callHandler(config, 'sync.targets.set', { target: input as TargetInput });
      const view = views.find((v) => v.name === name)!;
      if (g.json) return printJson(view);
      print(`sync target ${view.name} (${view.kind}) → ${view.url}${view.tokenSet ? ', token set' : ''}`);
    });

  target
    .command('list')
    .description('list targets (tokens are shown only as set or not)')
    .action(async (_o, cmd: Command) => {
      const g = globals(cmd);
      const config = configFor(g);
      const views = await callHandler(config, 'sync.targets.list', {});
      if (g.json) return printJson(views);
      if (views.length === 0) return print('no sync targets');
      print(
        formatTable(
          ['target', 'kind', 'url', 'batch', 'token', 'from', 'enabled'],
          views.map((v) => [v.name, v.kind, v.url, v.batchSize, v.tokenSet ? 'set' : '', v.origin, v.enabled ? 'yes' : 'no']),
        ),
      );
    });

  target
    .command('remove')
    .argument('<name>')
    .description('remove a stored target, its cursor and its rejected list')
    .action(async (name: string, _o, cmd: Command) => {
      const g = globals(cmd);
      const config = configFor(g);
      await callHandler(config, 'sync.targets.remove', { name });
      if (!g.json) print(`removed sync target ${name}`);
    });

  sync
    .command('rejected')
    .description('records endpoints refused, or hold for review, with the reason')
    .option('--target <name>', 'only this target')
    .option('--limit <n>', 'at most this many', '100')
    .action(async (o: { limit: string }, cmd: Command) => {
      const g = globals(cmd);
      const config = configFor(g);
      const limit = parseNumberArg('limit', o.limit, { integer: true, min: 1 });
      const rows = await callHandler(config, 'sync.rejected.list', { target: syncTarget(cmd), limit });
      if (g.json) return printJson(rows);
      if (rows.length === 0) return print('no rejected records');
      print(
        formatTable(
          ['target', 'seq', 'id', 'kind', 'reason'],
          rows.map((r) => [r.target, r.seq, r.id, r.kind, r.reason]),
        ),
      );
    });

  sync
    .command('retry-rejected')
    .description("send a target's rejected and for-review records again (after fixing the cause)")
    .option('--target <name>', 'the sync target (required)')
    .action(async (_o: object, cmd: Command) => {
      const g = globals(cmd);
      const config = configFor(g);
      const result = await callHandler(config, 'sync.retryRejected', { target: syncTarget(cmd, true) });
      if (g.json) return printJson(result);
      print(`${result.delivered} delivered, ${result.stillRejected} still rejected${result.error ? ` (${result.error})` : ''}`);
      if (result.error) process.exitCode = 1;
    });
}
