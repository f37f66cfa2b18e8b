// chart.js with only the components we use registered (tree-shaken, no CDN). Animations are
// off: figures appear at once, and a drawn canvas is marked with data-drawn for tests/bench.
import {
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  Filler,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  Tooltip,
  type ChartConfiguration,
  type Plugin,
} from 'chart.js';
import { useEffect, useRef } from 'react';
import { useTheme } from '../theme';

Chart.register(BarController, BarElement, CategoryScale, Filler, Legend, LinearScale, LineController, LineElement, PointElement, Tooltip);

type AnyConfig = ChartConfiguration<'bar'> | ChartConfiguration<'line'>;

export interface ChartProps {
  readonly config: AnyConfig;
  /** What the chart shows, for screen readers. */
  readonly label: string;
  readonly height?: number;
  readonly testId?: string;
  /** Called after each render of the chart onto its canvas. */
  readonly onDrawn?: () => void;
}

export function ChartCanvas({ config, label, height = 260, testId, onDrawn }: ChartProps) {
  const canvasRef = useRef<HTMLCanvasElement>(null);
  const chartRef = useRef<Chart | null>(null);
  const theme = useTheme();
  const drawnRef = useRef(onDrawn);
  drawnRef.current = onDrawn;

  useEffect(() => {
    const canvas = canvasRef.current;
    if (!canvas) return;
    const themed = withTheme(config, theme);
    if (chartRef.current && (chartRef.current.config as ChartConfiguration).type === config.type) {
      chartRef.current.data = themed.data as Chart['data'];
      chartRef.current.options = (themed.options ?? {}) as Chart['options'];
      chartRef.current.update('none');
      return;
    }
    chartRef.current?.destroy();
    // Marks the canvas once chart.js has painted it (tests and the UI bench wait for this).
    const markDrawn: Plugin = {
      id: 'tally-mark-drawn',
      afterRender(chart) {
        chart.canvas.dataset.drawn = 'true';
        drawnRef.current?.();
      },
    };
    chartRef.current = new Chart(canvas, {
      ...(themed as ChartConfiguration),
      plugins: [...((themed.plugins ?? []) as Plugin[]), markDrawn],
    });
  }, [config, theme]);

  useEffect(
    () => () => {
      chartRef.current?.destroy();
      chartRef.current = null;
    },
    [],
  );

  return (
    <div className="chart" style={{ height }}>
      <canvas ref={canvasRef} role="img" aria-label={label} data-testid={testId} />
    </div>
  );
}

function withTheme(config: AnyConfig, theme: { fg: string; muted: string; grid: string }): AnyConfig {
  const scaleTheme = { ticks: { color: theme.muted }, grid: { color: theme.grid }, border: { color: theme.grid } };
  const options = (config.options ?? {}) as Record<string, unknown> & {
    scales?: Record<string, Record<string, unknown>>;
    plugins?: Record<string, unknown>;
  };
  const scales: Record<string, unknown> = {};
  for (const [id, s] of Object.entries(options.scales ?? {})) scales[id] = { ...scaleTheme, ...s };
  return {
    ...config,
    options: {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      color: theme.fg,
      ...options,
      scales,
      plugins: { legend: { labels: { color: theme.fg, boxWidth: 12 } }, ...options.plugins },
    },
  } as AnyConfig;
}

/** A stable colour per service, readable on both themes. */
const PALETTE: Record<string, string> = {
  api: '#3b82f6',
  storage: '#8b5cf6',
  bandwidth: '#14b8a6',
  compute: '#f97316',
  database: '#22c55e',
  functions: '#ec4899',
  llm: '#eab308',
  document: '#64748b',
};
const EXTRA = ['#0ea5e9', '#a855f7', '#84cc16', '#f43f5e', '#06b6d4', '#d946ef'];

export function serviceColor(service: string): string {
  const known = PALETTE[service];
  if (known) return known;
  let h = 0;
  for (const c of service) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  return EXTRA[h % EXTRA.length]!;
}
