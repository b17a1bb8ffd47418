/**
 * Output versus spend: a scatter chart, one dot per session (x = the whole session's cost,
 * y = lines changed or commits), coloured by agent. Clicking a dot selects that session,
 * like a click in the sessions table. A dot whose y is unknown (edits not read, commits not
 * known) sits on the x axis, hollow.
 *
 * The canvas has no DOM per dot, so it carries what tests and assistive tech can read:
 * `data-points` (the number of dots) and `data-hits` (each dot's row id and pixel position,
 * for the first HIT_LIST_MAX dots). The chart is not keyboard-reachable: the table
 * "Most expensive, least output" and the sessions table are its accessible equivalent.
 */
import { Chart, Legend, LinearScale, PointElement, ScatterController, Tooltip, type ChartDataset } from 'chart.js';
import { folderOf } from '../core/viewModel';
import { readTheme, type Theme } from './chart';
import { agentLabel, type Fmt } from './fmt';

Chart.register(ScatterController, PointElement, LinearScale, Tooltip, Legend);

export type ScatterY = 'lines' | 'commits';

export interface ScatterSession {
  rowId: string;
  agent: string;
  project: string;
  spendNanos: number;
  /** Lines changed (added + removed) or commits; null: unknown. */
  lines: number | null;
  commits: number | null;
  linesAdded: number | null;
  linesRemoved: number | null;
  costPer100Lines: number | null;
  noOutput: boolean;
}

interface Point {
  x: number;
  y: number;
  s: ScatterSession;
}

/** Agents in a fixed order, so an agent keeps its colour whatever else is in view. */
const AGENT_ORDER = ['claude-code', 'codex', 'gemini-cli', 'opencode', 'cline', 'roo-code', 'kilo-code', 'aider'];
const HIT_LIST_MAX = 500;

export function agentColor(theme: Theme, agent: string): string {
  const i = AGENT_ORDER.indexOf(agent);
  return theme.series[(i >= 0 ? i : AGENT_ORDER.length + hash(agent)) % theme.series.length]!;
}

function hash(s: string): number {
  let x = 0;
  for (let i = 0; i < s.length; i++) x = (x * 31 + s.charCodeAt(i)) >>> 0;
  return x;
}

export class OutputScatter {
  private chart: Chart<'scatter', Point[]> | undefined;
  private theme = readTheme();
  private current: { sessions: ScatterSession[]; y: ScatterY } | undefined;
  private selected: string | null = null;
  private readonly observer: MutationObserver;

  constructor(private readonly canvas: HTMLCanvasElement, private fmt: Fmt, private readonly onSelect: (rowId: string) => void) {
    this.observer = new MutationObserver(() => this.retheme());
    this.observer.observe(document.body, { attributes: true, attributeFilter: ['class', 'data-vscode-theme-id'] });
  }

  setFormat(fmt: Fmt): void {
    this.fmt = fmt;
  }

  setSelected(rowId: string | null): void {
    if (rowId === this.selected) return;
    this.selected = rowId;
    if (this.current) this.update(this.current.sessions, this.current.y);
  }

  update(sessions: ScatterSession[], y: ScatterY): void {
    this.current = { sessions, y };
    const byAgent = new Map<string, Point[]>();
    for (const s of sessions) {
      const v = y === 'lines' ? s.lines : s.commits;
      const list = byAgent.get(s.agent) ?? [];
      list.push({ x: s.spendNanos / 1e9, y: v ?? 0, s });
      byAgent.set(s.agent, list);
    }
    const agents = [...byAgent.keys()].sort((a, b) => {
      const ia = AGENT_ORDER.indexOf(a);
      const ib = AGENT_ORDER.indexOf(b);
      return (ia < 0 ? 99 : ia) - (ib < 0 ? 99 : ib) || (a < b ? -1 : 1);
    });
    const datasets: Array<ChartDataset<'scatter', Point[]>> = agents.map((agent) => {
      const color = agentColor(this.theme, agent);
      const data = byAgent.get(agent)!;
      const known = (p: Point) => (y === 'lines' ? p.s.lines : p.s.commits) !== null;
      return {
        label: agentLabel(agent),
        data,
        borderColor: color,
        backgroundColor: data.map((p) => (known(p) ? color : 'transparent')),
        borderWidth: data.map((p) => (p.s.rowId === this.selected ? 3 : 1.5)),
        pointRadius: data.map((p) => (p.s.rowId === this.selected ? 7 : 4.5)),
        pointHoverRadius: 7,
        pointHitRadius: 6,
      };
    });
    if (!this.chart) {
      this.chart = new Chart(this.canvas, {
        type: 'scatter',
        data: { datasets },
        options: this.options(),
        plugins: [{ id: 'hits', afterRender: (chart) => this.publishHits(chart as unknown as Chart<'scatter', Point[]>) }],
      });
    } else {
      this.chart.data.datasets = datasets;
      this.chart.options = this.options();
      this.chart.update('none');
    }
    this.canvas.dataset['points'] = String(sessions.length);
    this.canvas.dataset['y'] = y;
  }

  /** Each dot's row id and pixel position (CSS pixels, relative to the canvas), for tests. */
  private publishHits(chart: Chart<'scatter', Point[]>): void {
    const hits: Array<[string, number, number]> = [];
    chart.data.datasets.forEach((_, di) => {
      const meta = chart.getDatasetMeta(di);
      meta.data.forEach((el, i) => {
        const p = chart.data.datasets[di]!.data[i];
        if (p && hits.length < HIT_LIST_MAX) hits.push([p.s.rowId, Math.round(el.x), Math.round(el.y)]);
      });
    });
    const text = JSON.stringify(hits);
    if (this.canvas.dataset['hits'] !== text) this.canvas.dataset['hits'] = text;
  }

  private retheme(): void {
    const theme = readTheme();
    if (JSON.stringify(theme) === JSON.stringify(this.theme)) return;
    this.theme = theme;
    if (this.current) this.update(this.current.sessions, this.current.y);
  }

  private options(): NonNullable<ConstructorParameters<typeof Chart<'scatter', Point[]>>[1]['options']> {
    const t = this.theme;
    const font = { family: t.font, size: t.fontSize - 1 };
    const y = this.current?.y ?? 'lines';
    return {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      interaction: { mode: 'nearest', intersect: true },
      onClick: (_e, elements) => {
        const hit = elements[0];
        const p = hit ? this.chart?.data.datasets[hit.datasetIndex]?.data[hit.index] : undefined;
        if (p) this.onSelect(p.s.rowId);
      },
      onHover: (e, elements) => {
        const target = e.native?.target;
        if (target instanceof HTMLElement) target.classList.toggle('pointer', elements.length > 0);
      },
      scales: {
        x: {
          type: 'linear', beginAtZero: true, grid: { color: t.grid }, border: { color: t.grid },
          title: { display: true, text: 'Cost', color: t.text, font },
          ticks: { color: t.text, font, maxTicksLimit: 7, callback: (v) => this.fmt.usdCompact(Number(v) * 1e9) },
        },
        y: {
          type: 'linear', beginAtZero: true, grid: { color: t.grid }, border: { display: false },
          title: { display: true, text: y === 'lines' ? 'Lines changed' : 'Commits', color: t.text, font },
          ticks: { color: t.text, font, maxTicksLimit: 6, precision: 0 },
        },
      },
      plugins: {
        legend: {
          position: 'bottom',
          labels: {
            color: t.text, font, boxWidth: 10, boxHeight: 10, padding: 12,
            // the agent's colour (a dataset's fill varies per dot: hollow where y is unknown)
            generateLabels: (chart) => chart.data.datasets.map((d, i) => ({
              text: d.label ?? '', fillStyle: String(d.borderColor), strokeStyle: String(d.borderColor), lineWidth: 0,
              hidden: !chart.isDatasetVisible(i), datasetIndex: i, fontColor: t.text,
            })),
          },
        },
        tooltip: {
          backgroundColor: t.tooltipBg,
          titleColor: t.tooltipFg,
          bodyColor: t.tooltipFg,
          borderColor: t.tooltipBorder,
          borderWidth: 1,
          titleFont: font,
          bodyFont: font,
          callbacks: {
            title: (items) => {
              const p = items[0]?.raw as Point | undefined;
              return p ? `${folderOf(p.s.project) || '(unknown folder)'} · ${agentLabel(p.s.agent)}` : '';
            },
            label: (item) => this.describe((item.raw as Point).s),
          },
        },
      },
    };
  }

  /** The tooltip's lines (text only). */
  private describe(s: ScatterSession): string[] {
    const f = this.fmt;
    const lines = s.linesAdded === null ? 'lines: not known' : `+${f.int(s.linesAdded)} / −${f.int(s.linesRemoved ?? 0)} lines`;
    const out = [`Cost ${f.usd(s.spendNanos)}`, lines, `commits: ${s.commits === null ? '—' : f.int(s.commits)}`];
    if (s.costPer100Lines !== null) out.push(`${f.usd(s.costPer100Lines)} per 100 lines`);
    if (s.commits) out.push(`${f.usd(Math.round(s.spendNanos / s.commits))} per commit`);
    if (s.noOutput) out.push('no output');
    return out;
  }

  dispose(): void {
    this.observer.disconnect();
    this.chart?.destroy();
  }
}
