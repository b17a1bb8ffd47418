/**
 * The daily timeline: a stacked bar chart (Chart.js, only the bar controller, its
 * element, two scales, tooltip and legend registered: the rest is tree-shaken away),
 * coloured from VS Code's `--vscode-charts-*` theme variables and re-themed when the
 * theme changes. Live updates change the data in place, without animation.
 */
import { BarController, BarElement, CategoryScale, Chart, Legend, LinearScale, Tooltip, type ChartDataset } from 'chart.js';
import { OTHER_SERIES, type Timeline } from '../core/viewModel';
import { agentLabel, type Fmt } from './fmt';

Chart.register(BarController, BarElement, CategoryScale, LinearScale, Tooltip, Legend);

/** Theme colours for series, in order of first appearance (a key keeps its colour). */
const SERIES_VARS = [
  '--vscode-charts-blue',
  '--vscode-charts-orange',
  '--vscode-charts-green',
  '--vscode-charts-purple',
  '--vscode-charts-red',
  '--vscode-charts-yellow',
  '--vscode-terminal-ansiCyan',
  '--vscode-terminal-ansiMagenta',
];
const FALLBACK = ['#3794ff', '#d18616', '#89d185', '#b180d7', '#f14c4c', '#cca700', '#29b8db', '#bc3fbc'];

export function cssVar(name: string, fallback: string): string {
  const v = getComputedStyle(document.body).getPropertyValue(name).trim();
  return v || fallback;
}

export interface Theme {
  series: string[];
  other: string;
  text: string;
  grid: string;
  font: string;
  fontSize: number;
  tooltipBg: string;
  tooltipFg: string;
  tooltipBorder: string;
}

export function readTheme(): Theme {
  return {
    series: SERIES_VARS.map((v, i) => cssVar(v, FALLBACK[i]!)),
    other: cssVar('--vscode-descriptionForeground', '#888888'),
    text: cssVar('--vscode-charts-foreground', cssVar('--vscode-foreground', '#cccccc')),
    grid: cssVar('--vscode-charts-lines', 'rgba(128,128,128,0.35)'),
    font: cssVar('--vscode-font-family', 'system-ui, sans-serif'),
    fontSize: parseFloat(cssVar('--vscode-font-size', '13')) || 13,
    tooltipBg: cssVar('--vscode-editorHoverWidget-background', '#252526'),
    tooltipFg: cssVar('--vscode-editorHoverWidget-foreground', cssVar('--vscode-foreground', '#cccccc')),
    tooltipBorder: cssVar('--vscode-editorHoverWidget-border', '#454545'),
  };
}

export class TimelineChart {
  private chart: Chart<'bar', number[], string> | undefined;
  private theme = readTheme();
  private readonly colorOf = new Map<string, number>();
  private current: { timeline: Timeline; by: 'agent' | 'model' } | undefined;
  private readonly observer: MutationObserver;

  constructor(private readonly canvas: HTMLCanvasElement, private fmt: Fmt) {
    // VS Code swaps the body's theme class (and the variables) when the theme changes.
    this.observer = new MutationObserver(() => this.retheme());
    this.observer.observe(document.body, { attributes: true, attributeFilter: ['class', 'data-vscode-theme-id'] });
    this.observer.observe(document.documentElement, { attributes: true, attributeFilter: ['style'] });
  }

  setFormat(fmt: Fmt): void {
    this.fmt = fmt;
  }

  private color(key: string): string {
    if (key === OTHER_SERIES) return this.theme.other;
    let i = this.colorOf.get(key);
    if (i === undefined) {
      i = this.colorOf.size % this.theme.series.length;
      this.colorOf.set(key, i);
    }
    return this.theme.series[i]!;
  }

  private label(key: string, by: 'agent' | 'model'): string {
    if (key === OTHER_SERIES) return 'Other';
    return by === 'agent' ? agentLabel(key) : key;
  }

  update(timeline: Timeline, by: 'agent' | 'model'): void {
    if (this.current?.by !== by) this.colorOf.clear();
    this.current = { timeline, by };
    const labels = timeline.days.map((d) => this.fmt.day(d));
    const datasets: Array<ChartDataset<'bar', number[]>> = timeline.series.map((s) => ({
      label: this.label(s.key, by),
      data: s.values.map((v) => v / 1e9),
      backgroundColor: this.color(s.key),
      borderWidth: 0,
      borderRadius: 1,
      stack: 'spend',
      maxBarThickness: 28,
    }));
    if (!this.chart) {
      this.chart = new Chart(this.canvas, { type: 'bar', data: { labels, datasets }, options: this.options() });
      return;
    }
    this.chart.data.labels = labels;
    // keep dataset objects where the series is the same (in-place update, no flicker)
    const old = this.chart.data.datasets;
    this.chart.data.datasets = datasets.map((d) => {
      const same = old.find((o) => o.label === d.label);
      if (!same) return d;
      same.data = d.data;
      same.backgroundColor = d.backgroundColor;
      return same;
    });
    this.chart.update('none');
  }

  private retheme(): void {
    const theme = readTheme();
    if (JSON.stringify(theme) === JSON.stringify(this.theme)) return;
    this.theme = theme;
    if (!this.chart || !this.current) return;
    this.chart.options = this.options();
    const { timeline } = this.current;
    this.chart.data.datasets.forEach((d, i) => {
      const key = timeline.series[i]?.key;
      if (key !== undefined) d.backgroundColor = this.color(key);
    });
    this.chart.update('none');
  }

  private options(): NonNullable<ConstructorParameters<typeof Chart<'bar', number[], string>>[1]['options']> {
    const t = this.theme;
    const font = { family: t.font, size: t.fontSize - 1 };
    return {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      interaction: { mode: 'index', intersect: false },
      scales: {
        x: { stacked: true, grid: { display: false }, border: { color: t.grid }, ticks: { color: t.text, font, maxRotation: 0, autoSkip: true, autoSkipPadding: 12 } },
        y: {
          stacked: true,
          beginAtZero: true,
          grid: { color: t.grid },
          border: { display: false },
          ticks: { color: t.text, font, maxTicksLimit: 6, callback: (v) => this.fmt.usdCompact(Number(v) * 1e9) },
        },
      },
      plugins: {
        legend: { position: 'bottom', labels: { color: t.text, font, boxWidth: 10, boxHeight: 10, padding: 12 } },
        tooltip: {
          backgroundColor: t.tooltipBg,
          titleColor: t.tooltipFg,
          bodyColor: t.tooltipFg,
          footerColor: t.tooltipFg,
          borderColor: t.tooltipBorder,
          borderWidth: 1,
          titleFont: font,
          bodyFont: font,
          footerFont: { ...font, weight: 'bold' },
          filter: (item) => Number(item.raw) > 0,
          itemSort: (a, b) => Number(b.raw) - Number(a.raw),
          callbacks: {
            title: (items) => {
              const i = items[0]?.dataIndex;
              const day = i !== undefined ? this.current?.timeline.days[i] : undefined;
              return day ? this.fmt.longDay(day) : '';
            },
            label: (item) => ` ${item.dataset.label ?? ''}: ${this.fmt.usd(Math.round(Number(item.raw) * 1e9))}`,
            footer: (items) => {
              const i = items[0]?.dataIndex;
              const total = i !== undefined ? this.current?.timeline.totals[i] ?? 0 : 0;
              return `Total: ${this.fmt.usd(total)}`;
            },
          },
        },
      },
    };
  }

  dispose(): void {
    this.observer.disconnect();
    this.chart?.destroy();
  }
}
