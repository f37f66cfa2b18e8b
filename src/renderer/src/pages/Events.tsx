// Events: the raw event log, newest first, with filters, pages, a live tail over the agent's
// server-sent events, and an event's metadata shown as formatted JSON.
import { useState } from 'react';
import type { EventEntry } from '../../../core/api/events';
import { useApi } from '../api';
import { Page } from '../components/Page';
import { Empty, ErrorState, Loading } from '../components/States';
import { VoidEvent } from '../components/VoidEvent';
import { exactMoney, formatCount } from '../format';

const PAGE = 50;

export function Events() {
  const [service, setService] = useState('');
  const [user, setUser] = useState('');
  const [cursors, setCursors] = useState<string[]>([]); // the cursor of each page after the first
  const [open, setOpen] = useState<string | null>(null);
  const [live, setLive] = useState(true);
  const cursor = cursors.at(-1);
  const args = {
    limit: PAGE,
    ...(service !== '' && { service }),
    ...(user.trim() !== '' && { user: user.trim() }),
    ...(cursor !== undefined && { cursor }),
  };
  // Live: the first page re-reads whenever the agent announces a commit.
  const [page, reload] = useApi('events.list', args, live && cursor === undefined ? ['records.flushed'] : []);
  const [services] = useApi('services.list', {});
  const restart = (f: () => void) => {
    f();
    setCursors([]);
  };
  const tools = (
    <label className="toggle">
      <input type="checkbox" checked={live} onChange={(e) => setLive(e.target.checked)} data-testid="events-live" /> Live
    </label>
  );
  return (
    <Page title="Events" testId="events" tools={tools} ready={page.status === 'ok'}>
      <form className="filters" onSubmit={(e) => e.preventDefault()} aria-label="Filters">
        <label>
          Service{' '}
          <select value={service} onChange={(e) => restart(() => setService(e.target.value))} data-testid="events-service">
            <option value="">All services</option>
            {services.status === 'ok' ? services.data.map((s) => <option key={s.name}>{s.name}</option>) : null}
          </select>
        </label>
        <label>
          User <input value={user} onChange={(e) => restart(() => setUser(e.target.value))} placeholder="any" data-testid="events-user" />
        </label>
      </form>
      <section className="panel" aria-label="Event log">
        {page.status === 'loading' ? <Loading /> : null}
        {page.status === 'error' ? <ErrorState error={page.error} onRetry={reload} /> : null}
        {page.status === 'ok' && page.data.events.length === 0 ? <Empty title="No events match" /> : null}
        {page.status === 'ok' && page.data.events.length > 0 ? (
          <>
            <p className="muted" data-testid="events-count">
              {formatCount(page.data.total_count)} events · newest first
            </p>
            <table className="table" data-testid="events-table">
              <thead>
                <tr>
                  <th scope="col">Recorded</th>
                  <th scope="col">Customer</th>
                  <th scope="col">User</th>
                  <th scope="col">Service</th>
                  <th scope="col" className="num">
                    Quantity
                  </th>
                  <th scope="col" className="num">
                    Cost
                  </th>
                </tr>
              </thead>
              <tbody>
                {page.data.events.map((e) => (
                  <EventRow
                    key={e.id}
                    event={e}
                    open={open === e.id}
                    onToggle={() => setOpen(open === e.id ? null : e.id)}
                    onChanged={reload}
                  />
                ))}
              </tbody>
            </table>
            <div className="pager">
              <button type="button" className="secondary" disabled={cursors.length === 0} onClick={() => setCursors(cursors.slice(0, -1))}>
                Newer
              </button>
              <button
                type="button"
                className="secondary"
                disabled={page.data.next_cursor === null}
                onClick={() => page.data.next_cursor && setCursors([...cursors, page.data.next_cursor])}
              >
                Older
              </button>
            </div>
          </>
        ) : null}
      </section>
    </Page>
  );
}

function EventRow({
  event: e,
  open,
  onToggle,
  onChanged,
}: {
  event: EventEntry;
  open: boolean;
  onToggle: () => void;
  onChanged: () => void;
}) {
  return (
    <>
      <tr data-testid="event-row" data-id={e.id} className={e.voidedAt ? 'voided' : undefined}>
        <td>
          <button type="button" className="link" aria-expanded={open} onClick={onToggle}>
            {new Date(e.recordedAt).toLocaleString()}
          </button>
        </td>
        <td>{e.customer}</td>
        <td>{e.user ?? '—'}</td>
        <td>
          {e.service}
          {e.voidedAt ? <span className="badge">voided</span> : null}
        </td>
        <td className="num">{String(e.quantity)}</td>
        {/* One event's cost is often below a cent: shown exactly, not rounded to $0.00. */}
        <td className="num">{exactMoney(e.cost)}</td>
      </tr>
      {open ? (
        <tr className="event-detail">
          <td colSpan={6}>
            <p className="muted">
              id {e.id} · host {e.host} · source {e.source} · unit price {e.unitPrice}
            </p>
            <pre data-testid="event-metadata">{JSON.stringify(e.metadata, null, 2)}</pre>
            {e.voidedAt ? (
              <p className="muted" data-testid="event-voided">
                Voided {new Date(e.voidedAt).toLocaleString()}: it no longer counts in reports, statements or exports.
              </p>
            ) : (
              <VoidEvent id={e.id} onVoided={onChanged} />
            )}
          </td>
        </tr>
      ) : null}
    </>
  );
}
