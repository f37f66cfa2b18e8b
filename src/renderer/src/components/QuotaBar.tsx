// A quota as a bar coloured by level (ok / warning / critical / exceeded), with a marker where
// the period is projected to end at the current rate.
import type { QuotaStatus } from '../../../quotas/alerts';
import { formatUsage, wholePercent } from '../format';

export type Level = 'ok' | 'warning' | 'critical' | 'exceeded';

export function levelOf(status: Pick<QuotaStatus, 'level'>): Level {
  return status.level ?? 'ok';
}

export function QuotaBar({ status, showProjection = true }: { status: QuotaStatus; showProjection?: boolean }) {
  const level = levelOf(status);
  const fill = Math.min(100, Math.max(0, status.percent));
  const projected = Math.min(100, Math.max(0, status.projectedPercent));
  const label = `${status.period === 'day' ? 'Daily' : 'Monthly'} quota: ${formatUsage(status.usage)} of ${formatUsage(status.limit)} ${status.unit} (${wholePercent(status.percent)}), ${level}`;
  return (
    <div className={`quota level-${level}`} data-testid={`quota-${status.service}-${status.period}`} data-level={level}>
      <div
        className="quota-track"
        role="meter"
        aria-label={label}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={Math.trunc(status.percent)}
      >
        <div className="quota-fill" style={{ width: `${fill}%` }} />
        {showProjection ? (
          <div
            className="quota-projection"
            style={{ left: `calc(${projected}% - 1px)` }}
            title={`Projected ${wholePercent(status.projectedPercent)}`}
          />
        ) : null}
      </div>
      <div className="quota-text">
        <span>
          {wholePercent(status.percent)} of {formatUsage(status.limit)} {status.unit}
          {status.period === 'day' ? ' today' : ''}
        </span>
        <span className="badge">{level}</span>
      </div>
      {showProjection ? (
        <div className="quota-text">
          <span>
            Projected {formatUsage(status.projected)} {status.unit} ({wholePercent(status.projectedPercent)})
          </span>
        </div>
      ) : null}
    </div>
  );
}
