// The writer slot of a read-only context: a CLI that runs a read-only call on a read-only
// connection has no writer. A handler that reached for one would be a bug in the contract's
// READ_ONLY_CALLS list, so it fails loudly instead of opening the database for writing.
import { TallyError } from '../core/errors';
import type { BatchedWriter } from './writer';

export function readOnlyWriter(call: string): BatchedWriter {
  return new Proxy({} as BatchedWriter, {
    get(_target, prop) {
      throw new TallyError('internal', `${call} is listed as read-only but used the writer (${String(prop)})`);
    },
  });
}
