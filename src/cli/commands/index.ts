// Every command group registers itself here; one line per group keeps the CLI's shape visible.
import type { Command } from 'commander';
import { registerCollector } from './collector';
import { registerCorrections } from './corrections';
import { registerCredits } from './credits';
import { registerZone } from './zone';
import { registerCustomers } from './customers';
import { registerEvents } from './events';
import { registerKeys } from './keys';
import { registerInsights } from './insights';
import { registerAgent } from './agent';
import { registerAnalytics } from './analytics';
import { registerBackup } from './backup';
import { registerDashboard } from './dashboard';
import { registerDoctor } from './doctor';
import { registerDemo } from './demo';
import { registerReport } from './report';
import { registerService } from './service';
import { registerServices } from './services';
import { registerSync } from './sync';
import { registerTrack } from './track';
import { registerImport } from './import';
import { registerSeedHelp } from './seed-help';

export const commandGroups: ReadonlyArray<(program: Command) => void> = [
  registerTrack,
  registerSeedHelp,
  registerImport,
  registerServices,
  registerReport,
  registerAnalytics,
  registerDemo,
  registerAgent,
  registerService,
  registerSync,
  registerBackup,
  registerDashboard,
  registerDoctor,
  registerCollector,
  registerCredits,
  registerZone,
  registerCustomers,
  registerKeys,
  registerEvents,
  registerInsights,
  registerCorrections, // after events and statement: adds subcommands to them
];
