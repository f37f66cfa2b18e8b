// tally services list|add, tally price list|set
import { Command } from 'commander';
import { invalid } from '../../core/errors';
import { describePrice as describeModel, type PriceSpec, type Tier } from '../../core/pricing';
import { SERVICE_TEMPLATES } from '../../core/services';
import { toIso } from '../../core/time';
import { parseDateArg, parseNumberArg } from '../args';
import { callHandler } from '../call';
import { configFor, globals } from '../context';
import { formatTable, print, printJson } from '../output';

function list(value: string | undefined): string[] {
  return value
    ? value
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
    : [];
}

export function registerServices(program: Command): void {
  const services = program.command('services').description('the service registry');

  services
    .command('list')
    .description('list services with their units and current prices')
    .action(async (_o, cmd: Command) => {
      const g = globals(cmd);
      const config = configFor(g);
      const defs = await callHandler(config, 'services.list', {});
      const rules = await callHandler(config, 'prices.list', {});
      const now = Date.now();
      const current = (name: string) => rules.filter((r) => r.service === name && r.effectiveFrom <= now).at(-1);
      if (g.json) return printJson(defs.map((d) => ({ ...d, price: current(d.name) ?? null })));
      print(
        formatTable(
          ['service', 'unit', 'base unit', 'required metadata', 'price', 'builtin'],
          defs.map((d) => [
            d.name,
            d.displayUnit,
            d.baseUnit,
            d.requiredFields.join(', '),
            describePrice(current(d.name)?.spec),
            d.builtin ? 'yes' : '',
          ]),
        ),
      );
    });

  services
    .command('add')
    .argument('[name]', 'service name (a-z, 0-9, _)')
    .description('register a custom service, or a ready template (--template llm|document)')
    .option('--template <name>', `install a template: ${SERVICE_TEMPLATES.map((t) => t.name).join(', ')}`)
    .option('--display-name <text>')
    .option('--unit <unit>', 'display unit, e.g. "tokens", "GB"')
    .option('--base-unit <unit>', 'unit quantities are recorded in (default: the display unit)')
    .option('--factor <n>', 'base units per display unit (1e-15 to 1e24)', '1')
    .option('--fractional', 'allow fractional quantities')
    .option('--required <keys>', 'comma-separated metadata keys every record must carry')
    .option('--breakdown <keys>', 'comma-separated metadata keys reports group by')
    .option('--price <decimal>', 'price per display unit')
    .option('--update', 'change an existing custom service (without it, a different definition is refused with the difference)')
    .option('--aggregation <kind>', 'how a period is one number: sum (default), count, max, latest or unique:<metadata key>')
    .option('--value <json path>', 'the quantity of an event is its metadata at this path, e.g. $.tokens')
    .option('--group-by <keys>', 'comma-separated metadata keys usage is grouped by')
    .action(async (name: string | undefined, o: Record<string, string | boolean | undefined>, cmd: Command) => {
      const g = globals(cmd);
      const config = configFor(g);
      if (typeof o.template === 'string') {
        await callHandler(config, 'services.add', { template: o.template });
        const installed = SERVICE_TEMPLATES.find((t) => t.name === o.template)!.services.map((s) => s.name);
        return g.json ? printJson({ installed }) : print(`installed ${installed.join(', ')}`);
      }
      if (!name) throw invalid('name', 'is required (or use --template)');
      if (typeof o.unit !== 'string') throw invalid('unit', 'is required: the display unit, e.g. --unit tokens');
      const def = {
        name,
        displayName: typeof o.displayName === 'string' ? o.displayName : name,
        baseUnit: typeof o.baseUnit === 'string' ? o.baseUnit : o.unit,
        displayUnit: o.unit,
        // The registry checks the range (with one message for every face).
        displayFactor: parseNumberArg('factor', String(o.factor)),
        integerOnly: !o.fractional,
        requiredFields: list(o.required as string | undefined),
        breakdownKeys: list((o.breakdown ?? o.groupBy ?? o.required) as string | undefined),
        builtin: false,
        ...(typeof o.aggregation === 'string' && { aggregation: o.aggregation }),
        ...(typeof o.value === 'string' && { valueProperty: o.value }),
        ...(typeof o.groupBy === 'string' && { groupBy: list(o.groupBy) }),
      };
      const { builtin: _builtin, ...service } = def;
      await callHandler(config, 'services.add', {
        service,
        ...(typeof o.price === 'string' ? { unitPrice: o.price } : {}),
        ...(o.update === true ? { update: true } : {}),
      });
      return g.json ? printJson(def) : print(`registered ${name} (${def.displayUnit})`);
    });

  const price = program.command('price').description('the price book');

  price
    .command('list')
    .argument('[service]')
    .description('price rules, with the dates they take effect')
    .action(async (service: string | undefined, _o, cmd: Command) => {
      const g = globals(cmd);
      const rules = await callHandler(configFor(g), 'prices.list', service === undefined ? {} : { service });
      if (g.json) return printJson(rules);
      print(
        formatTable(
          ['service', 'effective from', 'model', 'price', 'minimum / month'],
          rules.map((r) => [
            r.service,
            r.effectiveFrom === 0 ? 'always' : toIso(r.effectiveFrom),
            r.spec.model,
            describePrice(r.spec),
            r.minimumCharge ?? '',
          ]),
        ),
      );
    });

  price
    .command('set')
    .argument('<service>')
    .argument('[unit_price]', 'decimal price per display unit (per-unit pricing)')
    .description('set a price; --from makes it take effect on a date without touching earlier records')
    .option('--from <date>', 'effective date (default: now)')
    .option('--tiers <spec>', 'graduated tiers "upTo:price,…,inf:price" in display units, e.g. "10000:0.0001,inf:0.00005"')
    .option('--volume <spec>', 'volume tiers "upTo:price[:flat fee],…,inf:price": every unit at the price of the tier the total reaches')
    .option('--package <size:price>', 'package pricing: a price per started package of <size> display units')
    .option('--percent <rate>', "percentage of an amount in each event's metadata, e.g. 2.9")
    .option('--amount-field <key>', 'with --percent: the metadata key of the amount (default: amount)')
    .option('--fixed-fee <decimal>', 'with --percent: a fee added to every event')
    .option('--min-per-event <decimal>', 'with --percent: the least one event is charged')
    .option('--max-per-event <decimal>', 'with --percent: the most one event is charged')
    .option('--per <field>', 'per-dimension rates: a price per display unit for each value of this metadata key')
    .option('--rates <list>', 'with --per: "value=price,…", e.g. "gpt-4o=0.0000025,gpt-4o-mini=0.00000015"')
    .option('--default-rate <decimal>', 'with --per: the price of values not listed (without it they are refused)')
    .option('--minimum <decimal>', 'minimum charge per month')
    .action(async (service: string, unitPrice: string | undefined, o: PriceOptions & { from?: string; minimum?: string }, cmd: Command) => {
      const g = globals(cmd);
      const spec = priceSpecFrom(unitPrice, o);
      const effectiveFrom = o.from ? parseDateArg('from', o.from) : Date.now();
      await callHandler(configFor(g), 'prices.set', {
        service,
        spec,
        effectiveFrom: new Date(effectiveFrom).toISOString(),
        minimumCharge: o.minimum ?? null,
      });
      return g.json
        ? printJson({ service, effectiveFrom: toIso(effectiveFrom), spec })
        : print(`${service}: ${describePrice(spec)} from ${toIso(effectiveFrom)}`);
    });
}

export interface PriceOptions {
  tiers?: string;
  volume?: string;
  package?: string;
  percent?: string;
  amountField?: string;
  fixedFee?: string;
  minPerEvent?: string;
  maxPerEvent?: string;
  per?: string;
  rates?: string;
  defaultRate?: string;
}

export function priceSpecFrom(unitPrice: string | undefined, o: PriceOptions): PriceSpec {
  const given = [unitPrice, o.tiers, o.volume, o.package, o.percent, o.per].filter((v) => v !== undefined).length;
  if (given !== 1) throw invalid('price', 'give exactly one of: a unit price, --tiers, --volume, --package, --percent or --per');
  if (unitPrice !== undefined) return { model: 'per_unit', unitPrice };
  if (o.package !== undefined) {
    const [size, packagePrice] = o.package.split(':');
    if (!size || !packagePrice) throw invalid('package', 'must be <size>:<price>, e.g. 1000:0.50');
    return { model: 'package', packageSize: parseNumberArg('package', size), packagePrice };
  }
  if (o.percent !== undefined) {
    return {
      model: 'percentage',
      rate: o.percent.replace(/%$/, ''),
      amountField: o.amountField ?? 'amount',
      ...(o.fixedFee !== undefined && { fixedFee: o.fixedFee }),
      ...(o.minPerEvent !== undefined && { minPerEvent: o.minPerEvent }),
      ...(o.maxPerEvent !== undefined && { maxPerEvent: o.maxPerEvent }),
    };
  }
  if (o.per !== undefined)
    return {
      model: 'dimension',
      field: o.per,
      rates: ratesFrom(o.rates ?? ''),
      ...(o.defaultRate !== undefined && { defaultRate: o.defaultRate }),
    };
  const field = o.tiers !== undefined ? 'tiers' : 'volume';
  const tiers: Tier[] = (o.tiers ?? o.volume)!.split(',').map((part, i) => {
    const [upTo, price, flatFee] = part.split(':');
    if (!upTo || !price) throw invalid(`${field}[${i}]`, 'must be <upTo>:<price>[:<flat fee>]');
    const tier = { upTo: upTo === 'inf' ? null : parseNumberArg(`${field}[${i}]`, upTo, { min: 0 }), unitPrice: price };
    return flatFee === undefined ? tier : { ...tier, flatFee };
  });
  return { model: o.tiers !== undefined ? 'tiered' : 'volume', tiers };
}

/** "gpt-4o=0.0000025,gpt-4o-mini=0.00000015" → { 'gpt-4o': '0.0000025', … } */
function ratesFrom(text: string): Record<string, string> {
  const rates: Record<string, string> = {};
  text
    .split(',')
    .filter((part) => part.trim() !== '')
    .forEach((part, i) => {
      const at = part.lastIndexOf('=');
      if (at <= 0) throw invalid(`rates[${i}]`, 'must be <value>=<price>');
      rates[part.slice(0, at).trim()] = part.slice(at + 1).trim();
    });
  return rates;
}

export function describePrice(spec: PriceSpec | undefined): string {
  if (!spec) return 'free';
  switch (spec.model) {
    case 'per_unit':
      return spec.unitPrice;
    case 'package':
      return `${spec.packagePrice} per ${spec.packageSize}`;
    case 'tiered':
    case 'volume':
      return spec.tiers.map((t) => `${t.upTo ?? '∞'}@${t.unitPrice}${t.flatFee ? `+${t.flatFee}` : ''}`).join(' ');
    case 'percentage':
    case 'dimension':
      return describeModel(spec, 'unit');
  }
}
