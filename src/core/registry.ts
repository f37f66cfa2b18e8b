// An in-memory snapshot of the service registry and price book, for the ingestion hot path:
// validation looks services up here and pricing finds the compiled rule in force.
import { compilePrice, FREE, type CompiledPrice, type PriceRule } from './pricing';
import type { ServiceDefinition } from './services';

interface ServicePrices {
  readonly from: number[];
  readonly prices: CompiledPrice[];
}

export class Registry {
  readonly services: ReadonlyMap<string, ServiceDefinition>;
  private readonly prices = new Map<string, ServicePrices>();

  constructor(services: readonly ServiceDefinition[], rules: readonly PriceRule[]) {
    this.services = new Map(services.map((s) => [s.name, s]));
    const sorted = [...rules].sort((a, b) => a.effectiveFrom - b.effectiveFrom);
    for (const rule of sorted) {
      const service = this.services.get(rule.service);
      if (!service) continue;
      let entry = this.prices.get(rule.service);
      if (!entry) this.prices.set(rule.service, (entry = { from: [], prices: [] }));
      entry.from.push(rule.effectiveFrom);
      entry.prices.push(compilePrice(rule, service.displayFactor));
    }
  }

  /** The compiled price in force for `service` at time `at` (free when no rule applies). */
  priceAt(service: string, at: number): CompiledPrice {
    const entry = this.prices.get(service);
    if (!entry) return FREE;
    const { from, prices } = entry;
    // Rules are few; scan from the newest, which is what nearly every record needs.
    for (let i = from.length - 1; i >= 0; i--) if (from[i]! <= at) return prices[i]!;
    return FREE;
  }
}
