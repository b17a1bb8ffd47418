/**
 * The breakdown panel, in the webview. Receives the whole state once (after it posts
 * `ready`), then incremental updates; every message is validated before use. Filters,
 * sort, selection, expansion and scroll are the webview's own state (persisted with
 * setState, so a reload or a hidden tab comes back as it was) and are mirrored to the
 * host for export and restore.
 */
import {
  breakdown, buildForest, flattenView, folderOf, resolveRange, sumDays, sumRoots, timeline, tokensOf, viewFilterOf,
  type FlatRow, type TreeNode,
} from '../core/viewModel';
import {
  defaultViewState, parseHostMessage, parseViewState, RANGE_PRESETS,
  type BudgetRow, type DayEntry, type ReconProvider, type ReconRow, type DayKeys, type HostMessage, type RangePreset, type SessionDetail, type SessionRow, type SortKey, type ViewState, type WebviewMessage,
} from '../shared/protocol';
import { TimelineChart } from './chart';
import { renderDetail } from './detail';
import { h, setText } from './dom';
import { agentLabel, Fmt } from './fmt';
import { isFlagged, PROVIDER_LABELS, providerStatusLine, RECON_FLAG_PERCENT } from '../core/reconcile';
import { NowSection } from './now';
import { OutputScatter, type ScatterSession, type ScatterY } from './scatter';
import { NO_OUTPUT_HELP, SessionGrid } from './table';

interface VsCodeApi {
  postMessage(message: unknown): void;
  getState(): unknown;
  setState(state: unknown): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

const vscode = acquireVsCodeApi();
const saved = parseViewState(vscode.getState());
let view: ViewState = saved ?? defaultViewState();
const ownState = saved !== undefined;

const data = {
  seq: -1,
  now: Date.now(),
  receivedAt: performance.now(),
  dayKeys: undefined as DayKeys | undefined,
  rows: new Map<string, SessionRow>(),
  days: new Map<string, DayEntry>(),
};
let fmt = new Fmt(document.documentElement.lang || undefined);
let forest: TreeNode[] = [];
let flat: FlatRow[] = [];
let detail: SessionDetail | null | undefined;
let expandedRows = new Set(view.expandedRows);
let expandedTasks = new Set(view.expandedTasks);
let rejected = 0;
/** Spend of each whole session (its rows: own, subagents), nano-USD: the scatter's x. */
let sessionSpend = new Map<string, number>();
let scatterY: ScatterY = 'lines';
let outputPending = false;

function post(msg: WebviewMessage): void {
  vscode.postMessage(msg);
}

// ---------------------------------------------------------------- layout (built once; data only ever becomes text)

const RANGE_LABELS: Record<RangePreset, string> = {
  today: 'Today', week: 'This week', month: 'This month', '7d': 'Last 7 days', '30d': 'Last 30 days', '90d': 'Last 90 days', all: 'All time', custom: 'Custom range',
};

const rangeSelect = h('select', { id: 'range', 'aria-label': 'Date range' }, ...RANGE_PRESETS.map((p) => h('option', { value: p }, RANGE_LABELS[p])));
const fromInput = h('input', { type: 'date', id: 'range-from', 'aria-label': 'From day' });
const toInput = h('input', { type: 'date', id: 'range-to', 'aria-label': 'To day' });
const customRange = h('span', { class: 'custom-range', id: 'custom-range' }, fromInput, h('span', { 'aria-hidden': 'true' }, '–'), toInput);
const exportCsv = h('button', { type: 'button', class: 'secondary', id: 'export-csv', title: 'Export the sessions of the current view as CSV' }, 'Export CSV');
const exportJson = h('button', { type: 'button', class: 'secondary', id: 'export-json', title: 'Export the current view (sessions, filters, spend by agent and model) as JSON' }, 'Export JSON');

function card(id: string, label: string) {
  const value = h('div', { class: 'card-value', id: `${id}-value` }, '—');
  const sub = h('div', { class: 'card-sub', id: `${id}-sub` }, '');
  const title = h('div', { class: 'card-label', id: `${id}-label` }, label);
  const el = h('section', { class: 'card', id, 'aria-labelledby': `${id}-label` }, title, value, sub);
  return { el, value, sub, title };
}
const cards = { today: card('card-today', 'Today'), week: card('card-week', 'This week'), month: card('card-month', 'This month'), range: card('card-range', 'Last 30 days') };

const chartBy = {
  agent: h('button', { type: 'button', role: 'radio', class: 'seg', 'aria-checked': 'true', 'data-by': 'agent' }, 'By agent'),
  model: h('button', { type: 'button', role: 'radio', class: 'seg', 'aria-checked': 'false', 'data-by': 'model' }, 'By model'),
};
const canvas = h('canvas', { id: 'timeline', role: 'img', 'aria-label': 'Daily spend' });
const chartTitle = h('h2', { id: 'chart-title' }, 'Daily spend');
const byAgentBody = h('tbody');
const byModelBody = h('tbody');
const byAgentCaption = h('caption', null, 'By agent');
const byModelCaption = h('caption', null, 'By model');

const textInput = h('input', { type: 'search', id: 'filter-text', placeholder: 'Filter: project, branch, model, session id', 'aria-label': 'Filter sessions by text', spellcheck: 'false' });
const agentSelect = h('select', { id: 'filter-agent', 'aria-label': 'Agent' }, h('option', { value: '' }, 'All agents'));
const projectSelect = h('select', { id: 'filter-project', 'aria-label': 'Project' }, h('option', { value: '' }, 'All projects'));
const clearFilters = h('button', { type: 'button', class: 'link', id: 'clear-filters' }, 'Clear filters');
const sessionsSummary = h('span', { class: 'muted', id: 'sessions-summary' }, '');
const detailSection = h('section', { class: 'detail', id: 'detail', 'aria-labelledby': 'detail-title', hidden: true });

const grid = new SessionGrid(fmt, {
  onSelect: (id) => select(id, true),
  onToggle: (id, expand) => {
    if (expand) expandedRows.add(id);
    else expandedRows.delete(id);
    persist();
    recomputeView();
  },
  onSort: (key) => setSort(key),
  onScroll: (top) => {
    view.scrollTop = Math.round(top);
    persistSoon();
  },
});

// ---------------------------------------------------------------- budgets

const budgetsList = h('ul', { class: 'budget-list', id: 'budget-list' });
const budgetsNote = h('p', { class: 'muted budget-note' }, '');
const budgetsSection = h('section', { class: 'budgets', id: 'budgets', 'aria-labelledby': 'budgets-title', hidden: true },
  h('div', { class: 'section-head' }, h('h2', { id: 'budgets-title' }, 'Budgets')), budgetsList, budgetsNote);

const BUDGET_STATE_LABEL = { ok: 'on track', warn: 'near the limit', over: 'over the limit' } as const;

/** One list item per budget: title, a meter, spent of limit, and the forecast (all as text). */
function renderBudgets(rows: readonly BudgetRow[], method: string): void {
  budgetsSection.hidden = rows.length === 0;
  budgetsList.replaceChildren(...rows.map((b) => {
    const pct = Math.floor(b.percent);
    const meter = h('meter', { min: 0, max: 100, low: 80, high: 99.99, optimum: 0, value: Math.min(100, b.percent), 'aria-label': `${b.title}: ${pct} %` });
    const figures = `${fmt.usd(b.spentNanos)} of ${fmt.usd(b.limitNanos)} ${b.scope}${b.unpricedRequests ? ` (+ ${b.unpricedRequests} unpriced)` : ''}`;
    return h('li', { class: `budget ${b.state}`, 'data-id': b.id },
      h('div', { class: 'budget-head' },
        h('span', { class: 'budget-title' }, b.title),
        h('span', { class: `badge ${b.state}` }, BUDGET_STATE_LABEL[b.state]),
        h('span', { class: 'budget-pct num' }, `${fmt.int(pct)} %`)),
      meter,
      h('div', { class: 'budget-figures muted' }, figures),
      b.forecast ? h('div', { class: 'budget-forecast' }, b.forecast) : null);
  }));
  setText(budgetsNote, method);
}

// ---------------------------------------------------------------- billed vs estimated

const reconStatus = h('ul', { class: 'recon-status', id: 'recon-status', 'aria-live': 'polite' });
const reconBody = h('tbody', null);
const reconEmpty = h('p', { class: 'muted recon-empty', hidden: true }, 'No billed figures yet.');
const reconTable = h('table', { class: 'recon', id: 'recon-table' },
  h('caption', { class: 'visually-hidden' }, 'Billed by the provider vs estimated from the agents\' logs, per UTC day'),
  h('thead', null, h('tr', null,
    h('th', { scope: 'col' }, 'Date (UTC)'),
    h('th', { scope: 'col' }, 'Provider'),
    h('th', { scope: 'col', class: 'num' }, 'Billed'),
    h('th', { scope: 'col', class: 'num' }, 'Estimated'),
    h('th', { scope: 'col', class: 'num' }, 'Difference'),
    h('th', { scope: 'col' }, 'Agents'))),
  reconBody);
const reconSection = h('section', { class: 'recon-section', id: 'reconciliation', 'aria-labelledby': 'recon-title', hidden: true },
  h('div', { class: 'section-head' }, h('h2', { id: 'recon-title' }, 'Billed vs estimated')),
  reconStatus,
  h('div', { class: 'recon-scroll', role: 'region', 'aria-labelledby': 'recon-title', tabindex: 0 }, reconTable),
  reconEmpty,
  h('p', { class: 'muted recon-note' },
    `Days are UTC days, as the providers report them (not your local days). Estimated: what the agents' logs cost for the same UTC day (logged cost, else list prices). Difference: billed − estimated; marked beyond ${RECON_FLAG_PERCENT} %. Provisional days may still change.`));

function signedUsd(nanos: number): string {
  return nanos > 0 ? `+${fmt.usd(nanos)}` : fmt.usd(nanos);
}

/** One row per UTC day × provider, and a status line per provider (all as text). */
function renderReconciliation(rows: readonly ReconRow[], providers: readonly ReconProvider[]): void {
  reconSection.hidden = providers.length === 0;
  reconStatus.replaceChildren(...providers.map((p) =>
    h('li', { class: `recon-provider ${p.status}`, 'data-provider': p.provider }, providerStatusLine(p))));
  reconEmpty.hidden = rows.length > 0;
  reconTable.hidden = rows.length === 0;
  reconBody.replaceChildren(...rows.map((r) => {
    const flagged = isFlagged(r);
    const direction = r.diffNanos !== null && r.diffNanos > 0 ? 'over' : 'under';
    const diffText = r.diffNanos === null ? '—'
      : `${signedUsd(r.diffNanos)}${r.diffPercent === null ? '' : ` (${fmt.percent(r.diffPercent)})`}`;
    const agents = r.agents.map(agentLabel).join(', ');
    return h('tr', { 'data-provider': r.provider, 'data-date': r.date, class: flagged ? `flagged ${direction}` : undefined },
      h('th', { scope: 'row' }, fmt.longDay(r.date)),
      h('td', null, PROVIDER_LABELS[r.provider]),
      h('td', { class: 'num', title: r.billedNanos === null ? 'The provider reports no cost for this day' : undefined },
        r.billedNanos === null ? '—' : fmt.usd(r.billedNanos),
        r.final ? null : h('span', { class: 'muted provisional' }, ' provisional')),
      h('td', { class: 'num', title: r.unpricedRequests ? `${fmt.int(r.unpricedRequests)} unpriced requests are not included` : undefined },
        fmt.usd(r.estimatedNanos) + (r.unpricedRequests ? '+' : '')),
      h('td', { class: `num diff${flagged ? ` ${direction}` : ''}` },
        diffText,
        flagged ? h('span', { class: 'visually-hidden' }, ` — more than ${RECON_FLAG_PERCENT} % ${direction === 'over' ? 'above' : 'below'} the estimate`) : null),
      h('td', { class: 'recon-agents', title: agents || undefined }, agents || h('span', { class: 'muted' }, 'none')));
  }));
}

// ---------------------------------------------------------------- output versus spend

/** "Least output": sessions that changed at most this many lines (or are flagged). */
const LOW_OUTPUT_LINES = 20;
const LEAST_OUTPUT_ROWS = 10;

const scatterBy = {
  lines: h('button', { type: 'button', role: 'radio', class: 'seg', 'aria-checked': 'true', 'data-y': 'lines' }, 'Lines changed'),
  commits: h('button', { type: 'button', role: 'radio', class: 'seg', 'aria-checked': 'false', 'data-y': 'commits' }, 'Commits'),
};
const scatterCanvas = h('canvas', { id: 'output-scatter', role: 'img', 'aria-label': 'Output versus spend', 'aria-describedby': 'output-note' });
const scatterTitle = h('h2', { id: 'output-title' }, 'Output vs spend');
const leastBody = h('tbody');
const leastTable = h('table', { class: 'mini least-output', id: 'least-output' },
  h('caption', { id: 'least-output-caption' }, 'Most expensive, least output'),
  h('thead', null, h('tr', null,
    h('th', { scope: 'col' }, 'Session'),
    h('th', { scope: 'col', class: 'num' }, 'Cost'),
    h('th', { scope: 'col', class: 'num' }, 'Lines'),
    h('th', { scope: 'col', class: 'num' }, 'Commits'))),
  leastBody);
const outputNote = h('p', { class: 'muted output-note', id: 'output-note' },
  `One dot per session in the current view: cost across, lines changed (or commits) up; hollow where that is not known. The chart cannot be reached with the keyboard: the table "Most expensive, least output" (sessions that changed at most ${LOW_OUTPUT_LINES} lines, or spent without output) and the sessions table's +/− lines, Files, Commits and $/100 lines columns hold the same figures.`);
const outputSection = h('section', { class: 'output-section', id: 'output', 'aria-labelledby': 'output-title' },
  h('div', { class: 'section-head' }, scatterTitle,
    h('div', { class: 'segmented', role: 'radiogroup', 'aria-label': 'Output measured as' }, scatterBy.lines, scatterBy.commits)),
  h('div', { class: 'output-overview' },
    h('div', { class: 'chart-box' }, scatterCanvas),
    h('div', { class: 'least-output-box' }, leastTable)),
  outputNote);

// ---------------------------------------------------------------- now (running sessions, plan limits, plans' worth)

/** Hidden until the host sends its first `now`; a row opens its session in the detail below. */
const nowSection = new NowSection({ onOpen: (sessionId) => selectFromOutput(sessionId) });

const app = document.getElementById('app')!;
app.replaceChildren(
  h('header', { class: 'toolbar' },
    h('h1', null, 'Agent Spend'),
    h('div', { class: 'toolbar-group' }, h('label', { for: 'range', class: 'muted' }, 'Range'), rangeSelect, customRange),
    h('div', { class: 'toolbar-group end' }, exportCsv, exportJson)),
  nowSection.el,
  h('div', { class: 'cards', role: 'group', 'aria-label': 'Spend by period' }, cards.today.el, cards.week.el, cards.month.el, cards.range.el),
  budgetsSection,
  reconSection,
  h('div', { class: 'overview' },
    h('section', { class: 'chart-panel', 'aria-labelledby': 'chart-title' },
      h('div', { class: 'section-head' }, chartTitle,
        h('div', { class: 'segmented', role: 'radiogroup', 'aria-label': 'Stack the chart by' }, chartBy.agent, chartBy.model)),
      h('div', { class: 'chart-box' }, canvas)),
    h('section', { class: 'breakdowns', 'aria-label': 'Spend in the selected range' },
      h('table', { class: 'mini', id: 'by-agent' }, byAgentCaption, miniHead('Agent'), byAgentBody),
      h('table', { class: 'mini', id: 'by-model' }, byModelCaption, miniHead('Model'), byModelBody))),
  outputSection,
  h('section', { class: 'sessions', 'aria-labelledby': 'sessions-title' },
    h('div', { class: 'section-head' }, h('h2', { id: 'sessions-title' }, 'Sessions'), sessionsSummary),
    h('div', { class: 'filters', role: 'search' }, textInput, agentSelect, projectSelect, clearFilters),
    grid.el),
  detailSection,
);
app.removeAttribute('aria-busy');

function miniHead(first: string): HTMLElement {
  return h('thead', null, h('tr', null, h('th', { scope: 'col' }, first), h('th', { scope: 'col', class: 'num' }, 'Cost'), h('th', { scope: 'col', class: 'share' }, h('span', { class: 'visually-hidden' }, 'Share')), h('th', { scope: 'col', class: 'num' }, 'Requests')));
}

const chart = new TimelineChart(canvas, fmt);
const scatter = new OutputScatter(scatterCanvas, fmt, (rowId) => selectFromOutput(rowId));

for (const b of [scatterBy.lines, scatterBy.commits]) {
  b.addEventListener('click', () => {
    scatterY = b.dataset['y'] === 'commits' ? 'commits' : 'lines';
    for (const x of [scatterBy.lines, scatterBy.commits]) x.setAttribute('aria-checked', String(x.dataset['y'] === scatterY));
    renderOutput();
  });
  b.addEventListener('keydown', (e) => {
    if (e.key !== 'ArrowLeft' && e.key !== 'ArrowRight') return;
    const other = b === scatterBy.lines ? scatterBy.commits : scatterBy.lines;
    other.focus();
    other.click();
    e.preventDefault();
  });
}

/** A dot or a "least output" row: the session's row is shown (its parents expanded) and selected. */
function selectFromOutput(rowId: string): void {
  let parent = data.rows.get(rowId)?.parentId;
  let opened = false;
  for (let depth = 0; parent !== undefined && depth < 64; depth++) {
    if (!expandedRows.has(parent)) {
      expandedRows.add(parent);
      opened = true;
    }
    parent = data.rows.get(parent)?.parentId;
  }
  if (opened) recomputeView();
  select(rowId, true);
}

/** The sessions (not subagents) of the current view, with the whole session's spend. */
function outputSessions(): ScatterSession[] {
  if (!data.dayKeys) return [];
  const all = flattenView(forest, viewFilterOf(view, data.dayKeys, firstDay()), view.sort, 'all');
  const out: ScatterSession[] = [];
  for (const { node } of all) {
    const r = node.row;
    if (r.subagentId !== undefined) continue;
    out.push({
      rowId: r.id, agent: r.agent, project: r.project, spendNanos: sessionSpend.get(r.sessionId) ?? r.spendNanos,
      lines: r.linesAdded === null ? null : r.linesAdded + (r.linesRemoved ?? 0),
      commits: r.commits, linesAdded: r.linesAdded, linesRemoved: r.linesRemoved, costPer100Lines: r.costPer100Lines, noOutput: r.noOutput,
    });
  }
  return out;
}

function renderOutput(): void {
  const sessions = outputSessions();
  scatter.setFormat(fmt);
  scatter.setSelected(view.selected);
  scatter.update(sessions, scatterY);
  const flagged = sessions.filter((s) => s.noOutput).length;
  scatterCanvas.setAttribute('aria-label', `Output versus spend: ${fmt.int(sessions.length)} sessions, cost against ${scatterY === 'lines' ? 'lines changed' : 'commits'}${flagged ? `; ${fmt.int(flagged)} spent without output` : ''}.`);
  const least = sessions
    .filter((s) => s.spendNanos > 0 && (s.noOutput || (s.lines !== null && s.lines <= LOW_OUTPUT_LINES)))
    .sort((a, b) => b.spendNanos - a.spendNanos || (a.rowId < b.rowId ? -1 : 1))
    .slice(0, LEAST_OUTPUT_ROWS);
  const rows = least.map((s) => {
    const name = folderOf(s.project) || '(unknown folder)';
    const open = h('button', {
      type: 'button', class: 'link session-link', 'data-row': s.rowId,
      title: `${s.project || '(unknown folder)'} · ${agentLabel(s.agent)}\nOpen this session`,
      'aria-label': `${name}, ${agentLabel(s.agent)}${s.noOutput ? ', spent without output' : ''}: open this session`,
    }, name);
    open.addEventListener('click', () => selectFromOutput(s.rowId));
    return h('tr', { 'data-row': s.rowId, class: s.rowId === view.selected ? 'selected' : undefined },
      h('th', { scope: 'row' }, h('span', { class: 'least-name' }, open,
        s.noOutput ? h('span', { class: 'no-output-badge', title: NO_OUTPUT_HELP, 'aria-hidden': 'true' }, 'no output') : null)),
      h('td', { class: 'num' }, fmt.usd(s.spendNanos)),
      h('td', { class: 'num' }, s.lines === null ? '—' : fmt.int(s.lines)),
      h('td', { class: 'num' }, s.commits === null ? '—' : fmt.int(s.commits)));
  });
  if (rows.length === 0) rows.push(h('tr', null, h('td', { colspan: 4, class: 'muted' }, 'No costly session without output in this view.')));
  leastBody.replaceChildren(...rows);
}

// ---------------------------------------------------------------- controls

function applyViewToControls(): void {
  flushText();
  rangeSelect.value = view.range.preset;
  customRange.hidden = view.range.preset !== 'custom';
  fromInput.value = view.range.from ?? '';
  toInput.value = view.range.to ?? '';
  textInput.value = view.text;
  ensureOption(agentSelect, view.agent, agentLabel(view.agent));
  agentSelect.value = view.agent;
  ensureOption(projectSelect, view.project, folderOf(view.project));
  projectSelect.value = view.project;
  for (const b of [chartBy.agent, chartBy.model]) b.setAttribute('aria-checked', String(b.dataset['by'] === view.chartBy));
  grid.setSort(view.sort);
  clearFilters.hidden = !view.text && !view.agent && !view.project;
}

function ensureOption(sel: HTMLSelectElement, value: string, label: string): void {
  if (!value || [...sel.options].some((o) => o.value === value)) return;
  sel.append(h('option', { value }, label));
}

rangeSelect.addEventListener('change', () => {
  const preset = rangeSelect.value as RangePreset;
  if (preset === 'custom' && data.dayKeys) {
    const cur = resolveRange(view.range, data.dayKeys, firstDay());
    view.range = { preset, from: cur.from, to: cur.to };
  } else {
    view.range = { preset };
  }
  changed(true);
});
for (const input of [fromInput, toInput]) {
  input.addEventListener('change', () => {
    const valid = (v: string) => (/^\d{4}-\d{2}-\d{2}$/.test(v) ? v : undefined);
    view.range = { preset: 'custom' };
    const from = valid(fromInput.value);
    const to = valid(toInput.value);
    if (from) view.range.from = from;
    if (to) view.range.to = to;
    changed(true);
  });
}
let textTimer = 0;
textInput.addEventListener('input', () => {
  clearTimeout(textTimer);
  textTimer = window.setTimeout(() => {
    textTimer = 0;
    view.text = textInput.value.slice(0, 500);
    changed(false);
  }, 120);
});
/** Takes what is typed in the text filter now (another control changed before its debounce ran). */
function flushText(): void {
  if (!textTimer) return;
  clearTimeout(textTimer);
  textTimer = 0;
  view.text = textInput.value.slice(0, 500);
}
agentSelect.addEventListener('change', () => {
  view.agent = agentSelect.value;
  changed(false);
});
projectSelect.addEventListener('change', () => {
  view.project = projectSelect.value;
  changed(false);
});
clearFilters.addEventListener('click', () => {
  view.text = '';
  view.agent = '';
  view.project = '';
  changed(false);
  textInput.focus();
});
for (const b of [chartBy.agent, chartBy.model]) {
  b.addEventListener('click', () => {
    view.chartBy = b.dataset['by'] === 'model' ? 'model' : 'agent';
    applyViewToControls();
    persist();
    renderOverview();
  });
  b.addEventListener('keydown', (e) => {
    if (e.key !== 'ArrowLeft' && e.key !== 'ArrowRight') return;
    const other = b === chartBy.agent ? chartBy.model : chartBy.agent;
    other.focus();
    other.click();
    e.preventDefault();
  });
}
exportCsv.addEventListener('click', () => post({ type: 'export', format: 'csv', state: view }));
exportJson.addEventListener('click', () => post({ type: 'export', format: 'json', state: view }));

function setSort(key: SortKey): void {
  const textual = key === 'project' || key === 'agent' || key === 'branch' || key === 'models' || key === 'basis';
  view.sort = view.sort.key === key ? { key, dir: view.sort.dir === 'asc' ? 'desc' : 'asc' } : { key, dir: textual ? 'asc' : 'desc' };
  grid.setSort(view.sort);
  persist();
  recomputeView();
}

/** After a filter or range change: the list starts at the top again. */
function changed(overviewToo: boolean): void {
  applyViewToControls();
  persist();
  recomputeView();
  grid.scrollTop = 0;
  if (overviewToo) renderOverview();
}

// ---------------------------------------------------------------- persistence

let persistTimer = 0;
function persist(): void {
  view.expandedRows = [...expandedRows].slice(-10_000);
  view.expandedTasks = [...expandedTasks].slice(-10_000);
  vscode.setState(view);
  clearTimeout(persistTimer);
  persistTimer = window.setTimeout(() => post({ type: 'viewState', state: view }), 200);
}
let scrollTimer = 0;
function persistSoon(): void {
  clearTimeout(scrollTimer);
  scrollTimer = window.setTimeout(persist, 300);
}

// ---------------------------------------------------------------- selection and detail

function select(rowId: string | null, user: boolean): void {
  if (rowId !== view.selected) {
    expandedTasks = new Set();
    detail = undefined;
  }
  view.selected = rowId;
  grid.setSelected(rowId);
  scatter.setSelected(rowId);
  nowSection.setSelected(rowId);
  for (const tr of leastBody.querySelectorAll('tr[data-row]')) tr.classList.toggle('selected', tr.getAttribute('data-row') === rowId);
  persist();
  post({ type: 'select', rowId, expandedTasks: [...expandedTasks] });
  drawDetail();
  if (user && rowId) {
    const r = detailSection.getBoundingClientRect();
    if (r.top > window.innerHeight - 80) window.scrollBy({ top: r.top - window.innerHeight / 3, behavior: 'smooth' });
  }
}

function drawDetail(): void {
  renderDetail(detailSection, detail, { rowId: view.selected, expanded: expandedTasks, loading: detail === undefined }, fmt, {
    onReveal: (rowId) => post({ type: 'reveal', rowId }),
    onClose: () => {
      select(null, false);
      grid.el.focus();
    },
    onToggleTask: (taskId, expand) => {
      if (!view.selected) return;
      if (expand) expandedTasks.add(taskId);
      else expandedTasks.delete(taskId);
      persist();
      post({ type: 'expandTask', rowId: view.selected, taskId, expanded: expand });
      drawDetail();
    },
  });
}

// ---------------------------------------------------------------- derived views

function firstDay(): string | undefined {
  let min: string | undefined;
  for (const d of data.days.keys()) if (min === undefined || d < min) min = d;
  return min;
}

function recomputeForest(): void {
  forest = buildForest(data.rows.values());
  sessionSpend = new Map();
  for (const r of data.rows.values()) sessionSpend.set(r.sessionId, (sessionSpend.get(r.sessionId) ?? 0) + r.spendNanos);
}

function recomputeView(): void {
  if (!data.dayKeys) return;
  const filter = viewFilterOf(view, data.dayKeys, firstDay());
  flat = flattenView(forest, filter, view.sort, expandedRows);
  grid.setContext(fmt, hostNow());
  grid.setRows(flat);
  const roots = flat.filter((r) => r.depth === 0).length;
  const total = sumRoots(flat);
  const all = forest.length;
  const filtered = roots !== all;
  setText(sessionsSummary, `${fmt.int(roots)} ${roots === 1 ? 'session' : 'sessions'}${filtered ? ` of ${fmt.int(all)}` : ''} · ${fmt.usd(total.spendNanos)}${total.unpricedRequests ? '+' : ''} · ${fmt.compact(tokensOf(total))} tokens`);
  grid.setEmptyText(all === 0 ? 'No agent sessions found yet. They appear here as soon as an agent writes its log.' : 'No sessions match the filters.');
  if (!outputPending) {
    outputPending = true;
    requestAnimationFrame(() => {
      outputPending = false;
      renderOutput();
    });
  }
}

function hostNow(): number {
  return data.now + (performance.now() - data.receivedAt);
}

function renderOverview(): void {
  const keys = data.dayKeys;
  if (!keys) return;
  const days = [...data.days.values()];
  const periods: Array<[typeof cards.today, string, string]> = [
    [cards.today, keys.today, keys.today],
    [cards.week, keys.weekStart, keys.today],
    [cards.month, keys.monthStart, keys.today],
  ];
  const range = resolveRange(view.range, keys, firstDay());
  periods.push([cards.range, range.from, range.to]);
  for (const [c, from, to] of periods) {
    const s = sumDays(days, from, to);
    setText(c.value, fmt.usd(s.spendNanos) + (s.unpricedRequests ? '+' : ''));
    setText(c.sub, `${fmt.int(s.requests)} ${s.requests === 1 ? 'request' : 'requests'} · ${fmt.compact(s.tokens)} tokens`);
    c.el.title = s.unpricedRequests ? `${fmt.int(s.unpricedRequests)} unpriced requests are not included (no logged cost, no price for their model)` : '';
  }
  const rangeLabel = view.range.preset === 'custom' ? `${fmt.longDay(range.from)} – ${fmt.longDay(range.to)}` : RANGE_LABELS[view.range.preset];
  setText(cards.range.title, view.range.preset === 'custom' ? rangeLabel : `${rangeLabel}`);
  cards.range.el.classList.toggle('selected-range', true);

  const fill = (body: HTMLElement, cells: ReturnType<typeof breakdown>, label: (k: string) => string, caption: HTMLElement, what: string) => {
    setText(caption, `By ${what} · ${rangeLabel.toLowerCase()}`);
    const max = cells.reduce((m, c) => Math.max(m, c.spendNanos), 0);
    const rows = cells.map((c) => {
      const bar = h('span', { class: 'bar' });
      bar.style.width = `${max > 0 ? Math.max(1, Math.round((c.spendNanos / max) * 100)) : 0}%`;
      return h('tr', null,
        h('th', { scope: 'row', class: 'ellipsis', title: c.key }, label(c.key)),
        h('td', { class: 'num', title: c.unpricedRequests ? `${fmt.int(c.unpricedRequests)} unpriced` : undefined }, fmt.usd(c.spendNanos) + (c.unpricedRequests ? '+' : '')),
        h('td', { class: 'share', 'aria-hidden': 'true' }, h('span', { class: 'bar-track' }, bar)),
        h('td', { class: 'num' }, fmt.int(c.requests)));
    });
    if (rows.length === 0) rows.push(h('tr', null, h('td', { colspan: 4, class: 'muted' }, 'No spend in this range.')));
    body.replaceChildren(...rows);
  };
  fill(byAgentBody, breakdown(days, range.from, range.to, 'agent'), agentLabel, byAgentCaption, 'agent');
  fill(byModelBody, breakdown(days, range.from, range.to, 'model'), (k) => k, byModelCaption, 'model');

  const series = timeline(data.days, range.from, range.to, view.chartBy);
  chart.setFormat(fmt);
  chart.update(series, view.chartBy);
  const total = series.totals.reduce((a, b) => a + b, 0);
  let peak = -1;
  series.totals.forEach((v, i) => {
    if (peak < 0 || v > series.totals[peak]!) peak = i;
  });
  const peakText = peak >= 0 && series.totals[peak]! > 0 ? `; highest on ${fmt.longDay(series.days[peak]!)} at ${fmt.usd(series.totals[peak]!)}` : '';
  canvas.setAttribute('aria-label', `Daily spend by ${view.chartBy}, ${rangeLabel.toLowerCase()}: ${fmt.usd(total)} in total${peakText}.`);
  setText(chartTitle, `Daily spend · ${rangeLabel.toLowerCase()}`);
}

function renderFilterOptions(): void {
  const agents = new Set<string>();
  const projects = new Map<string, number>();
  for (const n of forest) {
    agents.add(n.row.agent);
    if (n.row.project) projects.set(n.row.project, 0);
  }
  const names = new Map<string, number>();
  for (const p of projects.keys()) names.set(folderOf(p), (names.get(folderOf(p)) ?? 0) + 1);
  const agentOpts = [...agents].sort().map((a) => [a, agentLabel(a)] as const);
  const projectOpts = [...projects.keys()]
    .map((p) => [p, names.get(folderOf(p))! > 1 ? `${folderOf(p)} (${p})` : folderOf(p)] as const)
    .sort((a, b) => a[1].localeCompare(b[1], fmt.locale));
  syncOptions(agentSelect, 'All agents', agentOpts, view.agent);
  syncOptions(projectSelect, 'All projects', projectOpts, view.project);
}

/** Replaces a select's options only when they changed (a live update must not reset an open list). */
function syncOptions(sel: HTMLSelectElement, allLabel: string, opts: ReadonlyArray<readonly [string, string]>, value: string): void {
  const wanted = [['', allLabel] as const, ...opts];
  if (value && !opts.some(([v]) => v === value)) wanted.push([value, value.includes('/') || value.includes('\\') ? folderOf(value) : agentLabel(value)]);
  const current = [...sel.options].map((o) => `${o.value}\u0000${o.text}`).join('\u0001');
  if (current === wanted.map(([v, l]) => `${v}\u0000${l}`).join('\u0001')) return;
  sel.replaceChildren(...wanted.map(([v, l]) => h('option', { value: v, title: v || undefined }, l)));
  sel.value = value;
}

// ---------------------------------------------------------------- messages

let renderPending: { forest: boolean; overview: boolean } | undefined;
function scheduleRender(forestChanged: boolean, overviewChanged: boolean): void {
  if (renderPending) {
    renderPending.forest ||= forestChanged;
    renderPending.overview ||= overviewChanged;
    return;
  }
  renderPending = { forest: forestChanged, overview: overviewChanged };
  requestAnimationFrame(() => {
    const p = renderPending!;
    renderPending = undefined;
    if (p.forest) {
      recomputeForest();
      renderFilterOptions();
    }
    recomputeView();
    if (p.overview) renderOverview();
    app.dataset['seq'] = String(data.seq);
  });
}

function onMessage(msg: HostMessage): void {
  switch (msg.type) {
    case 'state': {
      data.seq = msg.seq;
      data.now = msg.now;
      data.receivedAt = performance.now();
      data.dayKeys = msg.dayKeys;
      data.rows = new Map(msg.rows.map((r) => [r.id, r]));
      data.days = new Map(msg.days.map((d) => [d.day, d]));
      const first = app.dataset['loaded'] !== 'true';
      if (fmt.locale !== msg.locale) {
        fmt = new Fmt(msg.locale);
        document.documentElement.lang = msg.locale;
      }
      if (first && !ownState && msg.viewState) {
        view = msg.viewState;
        expandedRows = new Set(view.expandedRows);
        expandedTasks = new Set(view.expandedTasks);
      }
      applyViewToControls();
      recomputeForest();
      renderFilterOptions();
      if (first) grid.setSelected(view.selected);
      recomputeView();
      renderOverview();
      if (first) {
        grid.scrollTop = view.scrollTop;
        if (view.selected) post({ type: 'select', rowId: view.selected, expandedTasks: [...expandedTasks] });
        drawDetail();
      }
      app.dataset['loaded'] = 'true';
      app.dataset['seq'] = String(data.seq);
      break;
    }
    case 'update': {
      if (msg.seq !== data.seq + 1) {
        // a missed update: ask for the whole state again
        post({ type: 'ready' });
        return;
      }
      data.seq = msg.seq;
      data.now = msg.now;
      data.receivedAt = performance.now();
      const dayChanged = data.dayKeys?.today !== msg.dayKeys.today;
      data.dayKeys = msg.dayKeys;
      for (const id of msg.remove) data.rows.delete(id);
      for (const r of msg.upsert) data.rows.set(r.id, r);
      for (const d of msg.days) {
        if (d.agents.length === 0 && d.models.length === 0) data.days.delete(d.day);
        else data.days.set(d.day, d);
      }
      scheduleRender(msg.upsert.length > 0 || msg.remove.length > 0, msg.days.length > 0 || dayChanged);
      break;
    }
    case 'budgets':
      renderBudgets(msg.rows, msg.method);
      break;
    case 'reconciliation':
      renderReconciliation(msg.rows, msg.providers);
      break;
    case 'now':
      nowSection.render(msg.view);
      nowSection.setSelected(view.selected);
      break;
    case 'detail':
      if (msg.rowId !== view.selected) return;
      detail = msg.detail;
      drawDetail();
      break;
  }
}

window.addEventListener('message', (e: MessageEvent) => {
  const parsed = parseHostMessage(e.data);
  if (!parsed.ok) {
    rejected++;
    app.dataset['rejected'] = String(rejected);
    console.warn(`agent-spend: ${parsed.error}`);
    return;
  }
  onMessage(parsed.message);
});

// "active" dots and durations age without new messages
window.setInterval(() => {
  if (data.dayKeys) recomputeView();
}, 30_000);

// "12 s ago" in the Now section ages between the host's messages
window.setInterval(() => nowSection.tick(), 5_000);

applyViewToControls();
post({ type: 'ready' });
