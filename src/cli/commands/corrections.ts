// tally events void|amend|corrections and tally statement close: corrections with an audit
// trail, and closing a month. They attach to the `events` and `statement` commands when those
// exist (registered before this group), and create them otherwise.
import os from 'node:os';
import { Command } from 'commander';
import type { CorrectionResult } from '../../core/api/corrections';
import { invalid } from '../../core/errors';
import { formatMoney } from '../../core/money';
import { parseJsonObjectArg, parseNumberArg, syncTarget } from '../args';
import { callHandler } from '../call';
import { configFor, globals } from '../context';
import { formatTable, print, printJson } from '../output';

/** Who corrects from the command line: the audit trail names the local user. */
function cliUser(): string {
  let name = 'unknown';
  try {
    name = os.userInfo().username || name;
  } catch {
    // no passwd entry (containers): keep "unknown"
  }
  return `cli:${name}`;
}

function sub(program: Command, name: string, description: string): Command {
  return program.commands.find((c) => c.name() === name) ?? program.command(name).description(description);
}

function describe(r: CorrectionResult, currency: string): string {
  if (r.alreadyVoided) return `${r.id} was already voided ${r.voidedAt} by ${r.voidedBy} (${r.reason}); nothing changed`;
  const what = r.kind === 'void' ? `voided ${r.id}` : `amended ${r.id} → ${r.newId}`;
  const delta = `${r.deltaCostNanos >= 0 ? '+' : ''}${formatMoney(r.deltaCostNanos, currency)}`;
  const repriced = r.repriced ? `, ${r.repriced} later event${r.repriced === 1 ? '' : 's'} re-priced` : '';
  const late = r.lateFor ? `; ${r.lateFor} is closed: billed as an adjustment on the next open statement` : '';
  // A single event's cost is often below a cent: the exact change beside the rounded one.
  return `${what}: month total ${delta} (exact ${r.deltaCost})${repriced}${late}`;
}

export function registerCorrections(program: Command): void {
  const events = sub(program, 'events', 'the event log: raw usage records, newest first');

  events
    .command('void')
    .description('void an event: it stays in the log, marked, and counts no more (idempotent)')
    .argument('<id>')
    .requiredOption('--reason <text>', 'why (kept in the audit trail)')
    .action(async (id: string, o: { reason: string }, cmd: Command) => {
      const g = globals(cmd);
      const config = configFor(g);
      const r = await callHandler(config, 'events.void', { id, reason: o.reason, by: cliUser() });
      if (g.json) return printJson(r);
      print(describe(r, config.currency));
    });

  events
    .command('amend')
    .description('void an event and record its replacement with the changed fields')
    .argument('<id>')
    .option('--quantity <q>', 'new quantity in the base unit')
    .option('--metadata <json>', 'new metadata (a JSON object, replaces the old)')
    .option('--at <time>', 'new time of the usage (ISO 8601)')
    .requiredOption('--reason <text>', 'why (kept in the audit trail)')
    .action(async (id: string, o: { quantity?: string; metadata?: string; at?: string; reason: string }, cmd: Command) => {
      const g = globals(cmd);
      const config = configFor(g);
      const r = await callHandler(config, 'events.amend', {
        id,
        reason: o.reason,
        by: cliUser(),
        ...(o.quantity !== undefined && { quantity: parseNumberArg('quantity', o.quantity, { min: 0 }) }),
        ...(o.metadata !== undefined && { metadata: parseJsonObjectArg('metadata', o.metadata) }),
        ...(o.at !== undefined && { recordedAt: o.at }),
      });
      if (g.json) return printJson(r);
      print(describe(r, config.currency));
    });

  events
    .command('corrections')
    .description('the audit trail of voids and amends, newest first')
    .option('--id <id>', 'only corrections of this event (original or replacement)')
    .option('--limit <n>', 'at most this many', '100')
    .action(async (o: { id?: string; limit: string }, cmd: Command) => {
      const g = globals(cmd);
      const list = await callHandler(configFor(g), 'corrections.list', {
        ...(o.id !== undefined && { id: o.id }),
        limit: parseNumberArg('limit', o.limit, { integer: true, min: 1 }),
      });
      if (g.json) return printJson(list);
      print(
        formatTable(
          ['at', 'kind', 'id', 'replacement', 'customer', 'service', 'cost', 'change', 'by', 'reason'],
          list.map((c) => [c.at, c.kind, c.id, c.newId ?? '', c.customer, c.service, c.cost, c.deltaCost, c.by, c.reason]),
        ),
      );
    });

  const sync = sub(program, 'sync', 'sync records to billing endpoints');
  const corrections = sync
    .command('corrections')
    .description('corrections a sync target could not take back: adjust them at the vendor by hand, then mark them done')
    .option('--target <name>', 'only this target')
    .option('--all', 'also those delivered or done')
    .action(async (o: { all?: boolean }, cmd: Command) => {
      const target = syncTarget(cmd);
      const g = globals(cmd);
      const list = await callHandler(configFor(g), 'sync.corrections.list', {
        ...(target !== undefined && { target }),
        ...(o.all && { all: true }),
      });
      if (g.json) return printJson(list);
      if (list.length === 0) return print(o.all ? 'no corrections have reached sync targets yet' : 'nothing waits for a manual adjustment');
      print(
        formatTable(
          ['seq', 'target', 'state', 'kind', 'event', 'customer', 'service', 'recorded at', 'quantity', 'amount', 'reason'],
          list.map((c) => [
            c.seq,
            c.target,
            c.state,
            c.kind,
            c.id,
            c.customer,
            c.service,
            c.recordedAt,
            String(c.quantity),
            c.amount,
            c.reason,
          ]),
        ),
      );
      const manual = list.filter((c) => c.state === 'manual');
      for (const c of manual) print(`  ${c.seq} ${c.target}: needs a manual adjustment at the vendor: ${c.note}`);
      if (manual.length) print('mark one done with: tally sync corrections done SEQ --target NAME');
    });
  corrections
    .command('done')
    .description('mark a manual correction done (adjusted at the vendor)')
    .argument('<seq>')
    .option('--target <name>', 'the sync target (required)')
    .action(async (seq: string, _o: object, cmd: Command) => {
      const target = syncTarget(cmd, true);
      const g = globals(cmd);
      const left = await callHandler(configFor(g), 'sync.corrections.done', {
        target,
        seq: parseNumberArg('seq', seq, { integer: true, min: 1 }),
      });
      if (g.json) return printJson(left);
      print(`correction ${seq} at ${target} marked done; ${left.length} still wait for a manual adjustment there`);
    });

  const statement = sub(program, 'statement', "the month's billable lines");
  statement
    .command('close')
    .description('freeze a month that has ended: its statement prints the same forever; later changes bill as adjustments')
    .option('--month <YYYY-MM>', 'the month')
    .action(async (o: { month?: string }, cmd: Command) => {
      const g = globals(cmd);
      // `statement` has a --month of its own, which commander gives to the parent.
      const month = o.month ?? (cmd.parent?.opts() as { month?: string } | undefined)?.month;
      if (month === undefined) throw invalid('month', 'is required: --month YYYY-MM');
      const r = await callHandler(configFor(g), 'statement.close', { month, by: cliUser() });
      if (g.json) return printJson(r);
      print(
        r.closedNow
          ? `closed ${r.month}: total ${r.billTotal}, sha256 ${r.sha256}`
          : `${r.month} was already closed ${r.closedAt} by ${r.closedBy} (sha256 ${r.sha256})`,
      );
    });
}
