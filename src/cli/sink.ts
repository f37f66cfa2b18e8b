// Where `tally track`, `tally record` and `tally import` send records: to the running agent
// when one answers for this database (it holds the writer lock), else straight into the
// database through the batched writer (taking the lock for the duration of the command).
import type { RecordSink } from '../core/tracking';
import { createClient } from '../client/index';
import type { Config } from '../config/config';
import { agentFor } from './call';
import { withWriter } from './context';

export async function withSink<T>(config: Readonly<Config>, fn: (sink: RecordSink, how: string) => Promise<T>): Promise<T> {
  const agent = await agentFor(config);
  if (!agent) return withWriter(config, (writer) => fn(writer, `database ${config.db}`));
  const client = createClient({
    url: agent.url,
    token: agent.token,
    retries: 3,
    maxBodyBytes: config.http.bodyLimitBytes,
    defaults: { customerId: config.customerId, source: 'cli' },
  });
  try {
    return await fn(client, `agent ${agent.url}`);
  } finally {
    await client.close();
  }
}
