// Where `tally track` and `tally record` send records: straight into the database through
// the batched writer (taking the writer lock for the duration of the command).
import type { RecordSink } from '../../core/tracking';
import type { Config } from '../config';
import { withWriter } from './context';

export async function withSink<T>(config: Readonly<Config>, fn: (sink: RecordSink, how: string) => Promise<T>): Promise<T> {
  return withWriter(config, (writer) => fn(writer, `database ${config.db}`));
}
