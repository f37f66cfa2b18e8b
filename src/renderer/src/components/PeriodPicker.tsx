// This month / last month / a custom range of days.
import { useId, useState } from 'react';
import { dayOf, type PeriodChoice } from '../period';

export function PeriodPicker({ value, onChange }: { value: PeriodChoice; onChange: (p: PeriodChoice) => void }) {
  const id = useId();
  const now = Date.now();
  const [from, setFrom] = useState(value.kind === 'custom' ? value.from : dayOf(now - 29 * 86_400_000));
  const [to, setTo] = useState(value.kind === 'custom' ? value.to : dayOf(now));
  const invalid = value.kind === 'custom' && from > to;
  return (
    <fieldset className="period-picker">
      <legend className="sr-only">Period</legend>
      {(
        [
          ['this-month', 'This month'],
          ['last-month', 'Last month'],
          ['custom', 'Custom'],
        ] as const
      ).map(([kind, label]) => (
        <label key={kind} className={`seg ${value.kind === kind ? 'seg-on' : ''}`}>
          <input
            type="radio"
            name={`${id}-period`}
            value={kind}
            checked={value.kind === kind}
            onChange={() => onChange(kind === 'custom' ? { kind, from, to } : { kind })}
          />
          {label}
        </label>
      ))}
      {value.kind === 'custom' ? (
        <span className="custom-range">
          <label>
            From{' '}
            <input
              type="date"
              value={from}
              aria-invalid={invalid}
              onChange={(e) => {
                setFrom(e.target.value);
                if (e.target.value && e.target.value <= to) onChange({ kind: 'custom', from: e.target.value, to });
              }}
            />
          </label>
          <label>
            To{' '}
            <input
              type="date"
              value={to}
              aria-invalid={invalid}
              onChange={(e) => {
                setTo(e.target.value);
                if (e.target.value && from <= e.target.value) onChange({ kind: 'custom', from, to: e.target.value });
              }}
            />
          </label>
          {from > to ? <span className="field-error">From must be on or before To</span> : null}
        </span>
      ) : null}
    </fieldset>
  );
}
