// A progress bar on stderr when it is a terminal (and not --json); otherwise nothing.
import { Presets, SingleBar } from 'cli-progress';

export function progressBar(label: string, enabled: boolean): { update(done: number, total: number): void; stop(): void } {
  if (!enabled || !process.stderr.isTTY) return { update: () => undefined, stop: () => undefined };
  const bar = new SingleBar({ format: `${label}  {bar} {percentage}% | {value}/{total} | eta {eta_formatted}`, hideCursor: true, stream: process.stderr }, Presets.shades_classic);
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
