// A progress bar on stderr when it is a terminal (and not --json); otherwise nothing.
import { createRequire } from 'node:module';
import type * as CliProgress from 'cli-progress';

// Loaded only when a bar is shown: every CLI run would otherwise pay for it at start-up.
const require = createRequire(import.meta.url);

export function progressBar(label: string, enabled: boolean): { update(done: number, total: number): void; stop(): void } {
  if (!enabled || !process.stderr.isTTY) return { update: () => undefined, stop: () => undefined };
  const { SingleBar, Presets } = require('cli-progress') as typeof CliProgress;
  const bar = new SingleBar(
    { format: `${label}  {bar} {percentage}% | {value}/{total} | eta {eta_formatted}`, hideCursor: true, stream: process.stderr },
    Presets.shades_classic,
  );
  let started = false;
  return {
    update(done, total) {
      if (!started) {
        bar.start(total, done);
        started = true;
      } else bar.update(done);
    },
    stop() {
      if (started) bar.stop();
    },
  };
}
