// What a cron expression means in time: the longest interval between two of its next runs.
// Storage uses it to tell a normal interval from a gap.
import { nextRuns } from './cron';

export function scheduleIntervalSeconds(expression: string, samples = 8): number {
  const runs = nextRuns(expression, samples).map((d) => d.getTime());
  let longest = 0;
  for (let i = 1; i < runs.length; i++) longest = Math.max(longest, runs[i]! - runs[i - 1]!);
  return longest > 0 ? longest / 1000 : 60;
}
