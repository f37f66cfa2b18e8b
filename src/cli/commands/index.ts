// Every command group registers itself here; one line per group keeps the CLI's shape visible.
// A group's module is loaded only when the command line names one of its commands (`tally report`
// loads report.ts and what it imports, not the collector, the agent or the exports); `--help`, a
// bare `tally` or an unknown command load them all, in this order, so help and suggestions list
// every command. `commands` names the top-level commands a group registers or adds to
// (test/cli/lazy-commands.test.ts checks it against what each group really registers).
import type { Command } from 'commander';

export type RegisterGroup = (program: Command) => void;

export interface CommandGroup {
  readonly commands: readonly string[];
  readonly load: () => Promise<RegisterGroup>;
}

export const commandGroups: readonly CommandGroup[] = [
  { commands: ['track', 'record'], load: async () => (await import('./track')).registerTrack },
  { commands: [], load: async () => (await import('./seed-help')).registerSeedHelp }, // only adds to --help
  { commands: ['import'], load: async () => (await import('./import')).registerImport },
  { commands: ['services', 'price'], load: async () => (await import('./services')).registerServices },
  { commands: ['report'], load: async () => (await import('./report')).registerReport },
  {
    commands: [
      'aggregate',
      'breakdown',
      'stats',
      'trends',
      'peaks',
      'projection',
      'quota',
      'alerts',
      'statement',
      'export',
      'archive',
      'maintenance',
    ],
    load: async () => (await import('./analytics')).registerAnalytics,
  },
  { commands: ['demo'], load: async () => (await import('./demo')).registerDemo },
  { commands: ['agent'], load: async () => (await import('./agent')).registerAgent },
  { commands: ['service'], load: async () => (await import('./service')).registerService },
  { commands: ['sync'], load: async () => (await import('./sync')).registerSync },
  { commands: ['backup', 'restore'], load: async () => (await import('./backup')).registerBackup },
  { commands: ['dashboard'], load: async () => (await import('./dashboard')).registerDashboard },
  { commands: ['doctor'], load: async () => (await import('./doctor')).registerDoctor },
  { commands: ['collector'], load: async () => (await import('./collector')).registerCollector },
  { commands: ['credits'], load: async () => (await import('./credits')).registerCredits },
  { commands: ['zone'], load: async () => (await import('./zone')).registerZone },
  { commands: ['customers'], load: async () => (await import('./customers')).registerCustomers },
  { commands: ['keys'], load: async () => (await import('./keys')).registerKeys },
  { commands: ['events'], load: async () => (await import('./events')).registerEvents },
  { commands: ['top-users', 'errors', 'latency'], load: async () => (await import('./insights')).registerInsights },
  // After events, sync and statement: adds subcommands to them.
  { commands: ['events', 'sync', 'statement'], load: async () => (await import('./corrections')).registerCorrections },
];

/** Root options that take a value: the word after them is not the command's name. */
const ROOT_OPTIONS_WITH_VALUE = new Set(['--db', '--config', '--customer', '--durability']);

/** The command a command line names (its first word that is not a root option), if any. */
export function commandNameOf(argv: readonly string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') return argv[i + 1];
    if (ROOT_OPTIONS_WITH_VALUE.has(a)) i++;
    else if (!a.startsWith('-')) return a;
  }
  return undefined;
}

/** The groups a command line needs, in registration order: every group unless it names a known command. */
export function groupsFor(argv: readonly string[]): readonly CommandGroup[] {
  const name = commandNameOf(argv);
  const needed = name === undefined ? [] : commandGroups.filter((g) => g.commands.includes(name));
  return needed.length > 0 ? needed : commandGroups;
}
