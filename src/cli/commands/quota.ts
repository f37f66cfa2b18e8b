// tally quota set|list|remove|plan, tally alerts check|list.
// `tally alerts check` exits with code 3 when a quota is exceeded (for cron), 0 otherwise.
import { Command } from 'commander';
import { invalid } from '../../core/errors';
import { formatQuantity } from '../../analytics/statement-print';
import { formatAlertLine } from '../../quotas/alerts';
import { PLAN_NAMES, type PlanName, type QuotaPeriod } from '../../quotas/quotas';
import { formatPercent } from '../../core/money';
import { formatCompact } from '../../core/services';
import { parseNumberArg } from '../args';
import { callHandler } from '../call';
import { configFor, globals } from '../context';
import { formatTable, print, printJson } from '../output';

/** Exit code of `tally alerts check` when a quota is exceeded. */
export const EXIT_QUOTA_EXCEEDED = 3;

/** Sets the exit code once the CLI has finished (run() reports 0 for a command that did not fail). */
function exitWith(code: number): void {
  process.once('exit', () => {
    if (!process.exitCode) process.exitCode = code;
  });
}

function period(text: string): QuotaPeriod {
  if (text !== 'day' && text !== 'month') throw invalid('period', `"${text}" must be day or month`);
  return text;
}

export function registerQuota(program: Command): void {
  const quota = program.command('quota').description('usage limits per customer × service × day or month');

  quota
    .command('set')
    .description("set a limit in the service's display unit: requests, GB (GiB), GB-hours, CPU-hours, queries, invocations")
    .argument('<service>')
    .argument('<limit>', 'in display units, e.g. 100000 (api requests) or 10 (bandwidth GB)')
    .option('--period <period>', 'day or month', 'month')
    .action(async (service: string, limitText: string, o: { period: string }, cmd: Command) => {
      const g = globals(cmd);
      const limit = parseNumberArg('limit', limitText); // its range is checked with the service
      const config = configFor(g);
      const customerId = g.customer ?? config.customerId;
      const quotas = await callHandler(config, 'quotas.set', { customerId, service, period: period(o.period), limit });
      const q = quotas.find((x) => x.service === service && x.period === o.period)!;
      if (g.json) return printJson(q);
      // A limit is a precise figure: whole and grouped (5,000 calls), never abbreviated (5.00K).
      print(`quota set: ${q.customerId} ${q.service} ${formatQuantity(q.limit)} ${q.unit} per ${q.period}`);
    });

  quota
    .command('list')
    .description('the quotas (all customers unless --customer)')
    .option('--service <name>')
    .action(async (o: { service?: string }, cmd: Command) => {
      const g = globals(cmd);
      const list = await callHandler(configFor(g), 'quotas.list', { customerId: g.customer, service: o.service });
      if (g.json) return printJson(list);
      if (list.length === 0) return print('no quotas: set one with `tally quota set <service> <limit>` or `tally quota plan <plan>`');
      print(
        formatTable(
          ['customer', 'service', 'period', 'limit', 'unit'],
          list.map((q) => [q.customerId, q.service, q.period, formatQuantity(q.limit), q.unit]),
        ),
      );
    });

  quota
    .command('remove')
    .description('remove a quota (both periods unless --period)')
    .argument('<service>')
    .option('--period <period>', 'day or month')
    .action(async (service: string, o: { period?: string }, cmd: Command) => {
      const g = globals(cmd);
      const config = configFor(g);
      const customerId = g.customer ?? config.customerId;
      const { removed } = await callHandler(config, 'quotas.remove', {
        customerId,
        service,
        period: o.period === undefined ? undefined : period(o.period),
      });
      if (g.json) return printJson({ removed });
      print(
        removed === 0
          ? `no quota for ${customerId} ${service}`
          : `removed ${removed} quota${removed === 1 ? '' : 's'} for ${customerId} ${service}`,
      );
    });

  quota
    .command('plan')
    .description(`apply a plan's monthly quotas (${PLAN_NAMES.join(', ')}; enterprise removes the limits)`)
    .argument('<plan>')
    .action(async (plan: string, _o: unknown, cmd: Command) => {
      const g = globals(cmd);
      const config = configFor(g);
      const customerId = g.customer ?? config.customerId;
      if (!(PLAN_NAMES as readonly string[]).includes(plan)) throw invalid('plan', `"${plan}" must be one of ${PLAN_NAMES.join(', ')}`);
      const list = await callHandler(config, 'quotas.applyPlan', { plan: plan as PlanName, customerId });
      if (g.json) return printJson(list);
      print(`plan ${plan} applied to ${customerId}`);
      if (list.length)
        print(
          formatTable(
            ['service', 'period', 'limit', 'unit'],
            list.map((q) => [q.service, q.period, formatQuantity(q.limit), q.unit]),
          ),
        );
      else print('no limits');
    });

  const alerts = program
    .command('alerts')
    .description('quota alerts: warning, critical, exceeded (USAGE_ALERT_WARNING / _CRITICAL / _EXCEEDED)');

  alerts
    .command('check')
    .description(`compare this period's usage with each quota; exit code ${EXIT_QUOTA_EXCEEDED} when one is exceeded`)
    .option('--service <name>', "only this service's quotas (the seed's usage_check_service_alert)")
    .action(async (o: { service?: string }, cmd: Command) => {
      const g = globals(cmd);
      const config = configFor(g);
      const r = await callHandler(config, 'alerts.check', { customerId: g.customer, service: o.service });
      if (g.json) printJson(r);
      else if (r.status.length === 0) print('no quotas to check');
      else {
        for (const s of r.status) {
          print(
            s.message ??
              `OK: ${s.service} usage at ${formatPercent(s.percent / 100)} - ${formatCompact(s.usage)}/${formatCompact(s.limit)} ${s.unit} (${s.customerId}, ${s.period})`,
          );
        }
        for (const a of r.alerts.filter((x) => x.level === 'forecast')) print(a.message);
      }
      if (r.exceeded) exitWith(EXIT_QUOTA_EXCEEDED);
    });

  alerts
    .command('list')
    .description('alert history, newest first')
    .option('--days <n>', 'how far back', '30')
    .option('--service <name>')
    .action(async (o: { days: string; service?: string }, cmd: Command) => {
      const g = globals(cmd);
      const days = parseNumberArg('days', o.days, { integer: true, min: 1 });
      const list = await callHandler(configFor(g), 'alerts.list', { days, customerId: g.customer, service: o.service });
      if (g.json) return printJson(list);
      if (list.length === 0) return print(`no alerts in the last ${days} days`);
      for (const a of list) print(formatAlertLine(a));
    });
}
