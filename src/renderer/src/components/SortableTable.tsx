// A table whose column headers sort it (click or Enter/Space); aria-sort says how it is sorted.
import { useMemo, useState, type ReactNode } from 'react';

export interface Column<Row> {
  readonly key: string;
  readonly label: string;
  readonly value: (row: Row) => string | number;
  readonly render?: (row: Row) => ReactNode;
  readonly numeric?: boolean;
}

export function SortableTable<Row>({
  rows,
  columns,
  caption,
  initialSort,
  rowKey,
  testId,
}: {
  rows: readonly Row[];
  columns: readonly Column<Row>[];
  caption: string;
  initialSort: { key: string; desc: boolean };
  rowKey: (row: Row) => string;
  testId?: string;
}) {
  const [sort, setSort] = useState(initialSort);
  const sorted = useMemo(() => {
    const col = columns.find((c) => c.key === sort.key) ?? columns[0]!;
    const out = [...rows].sort((a, b) => {
      const va = col.value(a);
      const vb = col.value(b);
      const cmp = typeof va === 'number' && typeof vb === 'number' ? va - vb : String(va).localeCompare(String(vb));
      return sort.desc ? -cmp : cmp;
    });
    return out;
  }, [rows, columns, sort]);
  return (
    <table className="table" data-testid={testId}>
      <caption className="sr-only">{caption}</caption>
      <thead>
        <tr>
          {columns.map((c) => {
            const active = sort.key === c.key;
            return (
              <th
                key={c.key}
                scope="col"
                aria-sort={active ? (sort.desc ? 'descending' : 'ascending') : 'none'}
                className={c.numeric ? 'num' : undefined}
              >
                <button
                  type="button"
                  className="sort"
                  onClick={() => setSort({ key: c.key, desc: active ? !sort.desc : c.numeric === true })}
                >
                  {c.label}
                  <span aria-hidden="true" className="sort-mark">
                    {active ? (sort.desc ? '▼' : '▲') : ''}
                  </span>
                </button>
              </th>
            );
          })}
        </tr>
      </thead>
      <tbody>
        {sorted.map((row) => (
          <tr key={rowKey(row)}>
            {columns.map((c) => (
              <td key={c.key} className={c.numeric ? 'num' : undefined}>
                {c.render ? c.render(row) : c.value(row)}
              </td>
            ))}
          </tr>
        ))}
      </tbody>
    </table>
  );
}
