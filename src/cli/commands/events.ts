// tally events list|show|tail: the raw event log, newest first, with the API's filters.
import { Command } from 'commander';
import type { EventEntry } from '../../core/api/events';
import { parseNumberArg } from '../args';
import { callHandler } from '../call';
import { configFor, globals, type GlobalOptions } from '../context';
import { formatTable, print, printJson } from '../output';

interface FilterOptions {
  service?: string;
  user?: string;
}

function filters(g: GlobalOptions, o: FilterOptions) {
  return {
    ...(g.customer !== undefined && { customer: g.customer }),
    ...(o.service !== undefined && { service: o.service }),
    ...(o.user !== undefined && { user: o.user }),
  };
}

const row = (e: EventEntry) => [
  e.recordedAt,
  e.id,
  e.customer,
  e.user ?? '',
  e.service,
  String(e.quantity),
  e.cost,
  e.voidedAt ? 'voided' : '',
];
const HEADER = ['recorded at', 'id', 'customer', 'user', 'service', 'quantity', 'cost', ''];

export function registerEvents(program: Command): void {
  const events = program.command('events').description('the event log: raw usage records, newest first');

  events
    .command('list')
    .description('events matching the filters (--customer, --service, --user, --from, --to), newest first')
    .option('--service <name>')
    .option('--user <id>')
    .option('--from <date>', 'from this date or instant (inclusive)')
    .option('--to <date>', 'to this date (inclusive) or instant (exclusive)')
    .option('--limit <n>', 'events per page (1–1000)', '50')
    .option('--cursor <text>', 'next_cursor of the previous page')
    .action(async (o: FilterOptions & { from?: string; to?: string; limit: string; cursor?: string }, cmd: Command) => {
      const g = globals(cmd);
      const page = await callHandler(configFor(g), 'events.list', {
        ...filters(g, o),
        ...(o.from !== undefined && { from: o.from }),
        ...(o.to !== undefined && { to: o.to }),
        ...(o.cursor !== undefined && { cursor: o.cursor }),
        limit: parseNumberArg('limit', o.limit, { integer: true, min: 1 }),
      });
      if (g.json) return printJson(page);
      print(formatTable(HEADER, page.events.map(row)));
      print(`${page.events.length} of ${page.total_count}${page.next_cursor ? ` — next page: --cursor ${page.next_cursor}` : ''}`);
    });

  events
    .command('show')
    .argument('<id>')
    .description('one event with its metadata')
    .action(async (id: string, _o: unknown, cmd: Command) => {
      const g = globals(cmd);
      const e = await callHandler(configFor(g), 'events.get', { id });
      if (g.json) return printJson(e);
      const { metadata, ...rest } = e;
      for (const [k, v] of Object.entries(rest)) print(`${k.padEnd(11)} ${v ?? '—'}`);
      print(`metadata    ${JSON.stringify(metadata, null, 2).replace(/\n/g, '\n            ')}`);
    });

  events
    .command('tail')
    .description('print events as they are stored (Ctrl-C stops)')
    .option('--service <name>')
    .option('--user <id>')
    .option('--interval <seconds>', 'how often to look', '1')
    .option('--count <n>', 'stop after this many events')
    .action(async (o: FilterOptions & { interval: string; count?: string }, cmd: Command) => {
      const g = globals(cmd);
      const config = configFor(g);
      const everyMs = parseNumberArg('interval', o.interval, { min: 0.05 }) * 1000;
      const stopAfter = o.count === undefined ? Infinity : parseNumberArg('count', o.count, { integer: true, min: 1 });
      let { lastSeq } = await callHandler(config, 'events.tail', filters(g, o));
      let shown = 0;
      if (!g.json) print(HEADER.join('\t'));
      while (shown < stopAfter) {
        const t = await callHandler(config, 'events.tail', { ...filters(g, o), afterSeq: lastSeq, limit: 1000 });
        for (const e of t.events.slice(0, stopAfter - shown)) print(g.json ? JSON.stringify(e) : row(e).join('\t'));
        shown += t.events.length;
        lastSeq = t.lastSeq;
        if (t.events.length === 0) await new Promise((r) => setTimeout(r, everyMs));
      }
    });
}
