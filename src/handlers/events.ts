// Service layer for the event log: list (filters, keyset cursor) and one event by id.
import type { eventArgs } from '../core/api/events';
import { TallyError } from '../core/errors';
import { parseDateArg } from '../core/period';
import { getEvent, listEvents, tailEvents } from '../storage/repos/events';
import type { AgentContext } from './context';
import type { Implementation } from './handlers';

export function eventHandlers(ctx: AgentContext): Implementation<keyof typeof eventArgs> {
  return {
    'events.list': ({ limit, cursor, from, to, ...f }) => {
      const range = {
        from: from === undefined ? undefined : parseDateArg('from', from),
        to: to === undefined ? undefined : parseDateArg('to', to, true),
      };
      if (range.from !== undefined && range.to !== undefined && range.to <= range.from) {
        throw new TallyError('invalid_input', 'to: must be after from', { field: 'to' });
      }
      return listEvents(ctx.tdb.db, { ...f, ...range }, { limit, cursor });
    },
    'events.get': async ({ id }) => {
      const e = await getEvent(ctx.tdb.db, id);
      if (!e) throw new TallyError('not_found', `id: no event "${id.slice(0, 64)}"`, { field: 'id' });
      return e;
    },
    'events.tail': ({ afterSeq, limit, ...f }) => tailEvents(ctx.tdb.db, f, afterSeq, limit),
  };
}
