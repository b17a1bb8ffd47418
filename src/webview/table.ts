/**
 * The sessions table: an ARIA treegrid, virtualized (only the rows in view, plus a few,
 * are in the DOM; 10,000 sessions scroll like 10), rows of a fixed height so live
 * updates never shift the layout. Subagent rows nest under their session.
 *
 * Keyboard: ↑/↓/PageUp/PageDown/Home/End move the active row, Enter/Space opens its
 * detail, →/← expand/collapse (or go to the first child / the parent). The grid keeps
 * focus itself (aria-activedescendant), so re-rendering rows never loses it.
 */
import { basisOf, folderOf, type FlatRow } from '../core/viewModel';
import type { SortKey } from '../shared/protocol';
import { h, setAttrs, type Child } from './dom';
import { agentLabel, type Fmt } from './fmt';

export const ROW_HEIGHT = 28;
const OVERSCAN = 8;
/** A session counts as active (an agent is working) when its last request is this recent. */
const ACTIVE_MS = 5 * 60_000;

interface Column {
  id: string;
  label: string;
  sort: SortKey;
  numeric?: boolean;
  help?: string;
  cell(r: FlatRow, ctx: CellContext): { content: Child | Child[]; title?: string };
}

interface CellContext {
  fmt: Fmt;
  now: number;
}

export const BASIS_LABEL: Record<string, string> = {
  estimated: 'estimated',
  logged: 'logged',
  mixed: 'mixed',
  billed: 'billed',
  none: 'unpriced',
};
export const BASIS_HELP: Record<string, string> = {
  estimated: 'Estimated from tokens × list prices',
  logged: 'Cost logged by the agent itself',
  mixed: 'Partly logged by the agent, partly estimated from list prices',
  billed: 'Billed, as reported by the provider',
  none: 'No logged cost and no price for the model: not counted as $0',
};

const COLUMNS: Column[] = [
  {
    id: 'project', label: 'Project', sort: 'project',
    cell: (r, { now }) => {
      const row = r.node.row;
      const active = now - r.node.combined.end <= ACTIVE_MS && r.node.combined.end <= now + 60_000;
      const name = row.subagentId !== undefined ? `subagent ${shortId(row.subagentId)}` : folderOf(row.project) || '(unknown folder)';
      const content: Child[] = [
        h('span', { class: `twisty${r.hasChildren ? (r.expanded ? ' open' : '') : ' leaf'}`, 'aria-hidden': 'true', 'data-twisty': '1' }),
        active ? h('span', { class: 'live-dot', title: 'Active in the last 5 minutes' }) : null,
        h('span', { class: 'ellipsis' }, name),
        r.hasChildren ? h('span', { class: 'count-badge', title: `${r.node.children.length} nested` }, String(r.node.children.length)) : null,
        row.noOutput ? h('span', { class: 'no-output-badge', title: NO_OUTPUT_HELP }, 'no output') : null,
      ];
      const title = row.subagentId !== undefined
        ? `Subagent ${row.subagentId}\nof session ${row.sessionId}\n${row.project}`
        : `${row.project || '(unknown folder)'}\nSession ${row.sessionId}${row.parentId ? `\nChild of ${row.parentId}` : ''}`;
      return { content, title };
    },
  },
  { id: 'agent', label: 'Agent', sort: 'agent', cell: (r) => ({ content: agentLabel(r.node.row.agent) }) },
  { id: 'branch', label: 'Branch', sort: 'branch', cell: (r) => ({ content: r.node.row.branch ?? '—', title: r.node.row.branch ?? 'No git branch logged' }) },
  { id: 'start', label: 'Started', sort: 'start', cell: (r, { fmt }) => ({ content: fmt.shortDateTime(r.node.combined.start), title: fmt.dateTime(r.node.combined.start) }) },
  {
    id: 'duration', label: 'Duration', sort: 'duration', numeric: true,
    cell: (r, { fmt }) => ({ content: fmt.duration(r.node.combined.end - r.node.combined.start), title: `${fmt.dateTime(r.node.combined.start)} – ${fmt.dateTime(r.node.combined.end)}` }),
  },
  {
    id: 'models', label: 'Models', sort: 'models',
    cell: (r) => {
      const m = r.node.models;
      return { content: m.length > 1 ? [h('span', { class: 'ellipsis' }, m[0]!), h('span', { class: 'more' }, ` +${m.length - 1}`)] : (m[0] ?? '—'), title: m.join('\n') };
    },
  },
  { id: 'requests', label: 'Requests', sort: 'requests', numeric: true, cell: (r, { fmt }) => ({ content: fmt.int(r.node.combined.requests) }) },
  tokenColumn('input', 'Input', 'input', 'Uncached input tokens', (a) => a.inputTokens),
  tokenColumn('output', 'Output', 'output', 'Output tokens (reasoning included)', (a) => a.outputTokens),
  tokenColumn('cacheWrite', 'Cache write', 'cacheWrite', 'Cache-write tokens (5-minute and 1-hour)', (a) => a.cacheWriteTokens),
  tokenColumn('cacheRead', 'Cache read', 'cacheRead', 'Cache-read tokens', (a) => a.cacheReadTokens),
  {
    id: 'cost', label: 'Cost', sort: 'cost', numeric: true,
    help: 'Spend: the cost the agent logged where it logged one, else the estimate at list prices. A session with subagents shows the combined cost, its own part beside it.',
    cell: (r, { fmt }) => {
      const c = r.node.combined;
      const own = r.node.row;
      const plus = c.unpricedRequests > 0 ? '+' : '';
      const value = h('span', { class: 'cost' }, fmt.usd(c.spendNanos) + plus);
      const unpriced = c.unpricedRequests > 0 ? `\n${fmt.int(c.unpricedRequests)} unpriced request${c.unpricedRequests === 1 ? '' : 's'} not included` : '';
      if (!r.hasChildren) return { content: value, title: `${fmt.usd(c.spendNanos)}${unpriced}` };
      return {
        content: [h('span', { class: 'own' }, `own ${fmt.usd(own.spendNanos)}`), value],
        title: `Combined ${fmt.usd(c.spendNanos)}\nOwn ${fmt.usd(own.spendNanos)}\nNested ${fmt.usd(c.spendNanos - own.spendNanos)}${unpriced}`,
      };
    },
  },
  {
    id: 'basis', label: 'Basis', sort: 'basis',
    help: 'Estimated (tokens × list prices), logged by the agent, billed by the provider, or a mix',
    cell: (r) => {
      const b = basisOf(r.node.combined);
      return { content: h('span', { class: `basis basis-${b}` }, BASIS_LABEL[b] ?? b), title: BASIS_HELP[b] ?? '' };
    },
  },
  {
    id: 'lines', label: '+/− lines', sort: 'lines', numeric: true,
    help: 'Lines the agent\'s own edit tools added and removed in the session (subagents included); — where the agent\'s edits are not read',
    cell: (r, { fmt }) => {
      const row = r.node.row;
      if (row.linesAdded === null) return { content: '—', title: unknownEditsTitle(row) };
      const removed = row.linesRemoved ?? 0;
      return {
        content: [h('span', { class: 'lines-added' }, `+${fmt.int(row.linesAdded)}`), h('span', { class: 'lines-removed' }, `−${fmt.int(removed)}`)],
        title: `${fmt.int(row.linesAdded)} lines added, ${fmt.int(removed)} removed by the agent's edit tools`,
      };
    },
  },
  {
    id: 'files', label: 'Files', sort: 'files', numeric: true, help: 'Files the agent\'s edit tools changed',
    cell: (r, { fmt }) => {
      const n = r.node.row.filesTouched;
      return n === null ? { content: '—', title: unknownEditsTitle(r.node.row) } : { content: fmt.int(n), title: `${fmt.int(n)} files changed` };
    },
  },
  {
    id: 'commits', label: 'Commits', sort: 'commits', numeric: true, help: 'Commits made in the session\'s repository while it ran (from git); — when unknown',
    cell: (r, { fmt }) => {
      const row = r.node.row;
      if (row.commits === null) return { content: '—', title: row.subagentId !== undefined ? 'Counted on the session row' : 'Not known: no git facts (yet), not a repository, or an untrusted workspace' };
      const surviving = row.survivingShare !== null ? `
${Math.round(row.survivingShare * 100)} % of the agent's added lines are still in HEAD` : '';
      return { content: fmt.int(row.commits), title: `${fmt.int(row.commits)} commits${surviving}` };
    },
  },
  {
    id: 'per100', label: '$/100 lines', sort: 'costPer100Lines', numeric: true,
    help: 'The whole session\'s spend (subagents included) per 100 changed (added + removed) lines',
    cell: (r, { fmt }) => {
      const v = r.node.row.costPer100Lines;
      return v === null ? { content: '—', title: r.node.row.linesAdded === null ? unknownEditsTitle(r.node.row) : 'No line changed' } : { content: fmt.usd(v), title: `${fmt.usd(v)} per 100 changed lines` };
    },
  },
];

export const NO_OUTPUT_HELP = 'Spend without output: the session spent more than the threshold (setting), changed no line with its edit tools, and no commit is known';

function unknownEditsTitle(row: FlatRow['node']['row']): string {
  return row.subagentId !== undefined ? 'Counted on the session row' : `Not known: ${agentLabel(row.agent)}'s edits are not read`;
}

function tokenColumn(id: string, label: string, sort: SortKey, help: string, get: (a: FlatRow['node']['combined']) => number): Column {
  return {
    id, label, sort, numeric: true, help,
    cell: (r, { fmt }) => ({ content: fmt.compact(get(r.node.combined)), title: `${fmt.int(get(r.node.combined))} ${label.toLowerCase()} tokens` }),
  };
}

function shortId(id: string): string {
  return id.length > 12 ? id.slice(0, 8) : id;
}

export interface GridHandlers {
  onSelect(rowId: string): void;
  onToggle(rowId: string, expand: boolean): void;
  onSort(key: SortKey): void;
  onScroll(scrollTop: number): void;
}

interface CachedRow {
  el: HTMLElement;
  sig: string;
}

export class SessionGrid {
  /** The scroll container (role=treegrid); it holds the focus. */
  readonly el: HTMLElement;
  private readonly headerRow: HTMLElement;
  private readonly body: HTMLElement;
  private readonly empty: HTMLElement;
  private rows: FlatRow[] = [];
  private index = new Map<string, number>();
  private activeId: string | null = null;
  private selectedId: string | null = null;
  private sort: { key: SortKey; dir: 'asc' | 'desc' } = { key: 'start', dir: 'desc' };
  private fmt: Fmt;
  private now = Date.now();
  private cache = new Map<string, CachedRow>();
  private frame = 0;
  private emptyText = 'No sessions.';

  constructor(fmt: Fmt, private readonly handlers: GridHandlers) {
    this.fmt = fmt;
    this.headerRow = h('div', { class: 'grid-row grid-header-row', role: 'row', 'aria-rowindex': 1 });
    this.body = h('div', { class: 'grid-body', role: 'rowgroup' });
    this.empty = h('div', { class: 'grid-empty', role: 'row' }, h('span', { role: 'gridcell' }, this.emptyText));
    this.el = h('div', {
      class: 'grid', role: 'treegrid', tabindex: 0, 'aria-label': 'Agent sessions', 'aria-colcount': COLUMNS.length, 'aria-multiselectable': 'false',
      id: 'sessions-grid',
    }, h('div', { class: 'grid-header', role: 'rowgroup' }, this.headerRow), this.body);
    this.renderHeader();
    this.el.addEventListener('scroll', () => {
      this.schedule();
      this.handlers.onScroll(this.el.scrollTop);
    }, { passive: true });
    this.el.addEventListener('keydown', (e) => this.onKey(e));
    this.body.addEventListener('click', (e) => this.onClick(e));
    this.el.addEventListener('focus', () => {
      if (!this.activeId && this.rows.length) this.setActive(this.rows[0]!.node.row.id);
      this.el.classList.add('focused');
    });
    this.el.addEventListener('blur', () => this.el.classList.remove('focused'));
    new ResizeObserver(() => this.schedule()).observe(this.el);
  }

  setContext(fmt: Fmt, now: number): void {
    if (fmt !== this.fmt) this.cache.clear();
    this.fmt = fmt;
    this.now = now;
  }

  setSort(sort: { key: SortKey; dir: 'asc' | 'desc' }): void {
    this.sort = sort;
    this.renderHeader();
  }

  setSelected(id: string | null): void {
    this.selectedId = id;
    if (id) this.activeId = id;
    this.render();
  }

  setEmptyText(text: string): void {
    this.emptyText = text;
    this.empty.firstChild!.textContent = text;
  }

  /** New rows (after a live update, a filter or a sort): the scroll position stays where it is. */
  setRows(rows: FlatRow[]): void {
    this.rows = rows;
    this.index = new Map(rows.map((r, i) => [r.node.row.id, i]));
    if (this.activeId && !this.index.has(this.activeId)) this.activeId = null;
    setAttrs(this.el, { 'aria-rowcount': rows.length + 1 });
    this.render();
  }

  get scrollTop(): number {
    return this.el.scrollTop;
  }

  set scrollTop(v: number) {
    this.el.scrollTop = v;
    this.render();
  }

  private renderHeader(): void {
    const cells = COLUMNS.map((c, i) => {
      const active = this.sort.key === c.sort;
      const dir = active ? (this.sort.dir === 'asc' ? 'ascending' : 'descending') : 'none';
      const button = h('button', {
        class: 'sort', type: 'button', 'data-sort': c.sort,
        title: `${c.help ? `${c.help}\n` : ''}Sort by ${c.label.toLowerCase()}`,
      }, h('span', { class: 'ellipsis' }, c.label), h('span', { class: `sort-arrow${active ? ` ${this.sort.dir}` : ''}`, 'aria-hidden': 'true' }));
      button.addEventListener('click', () => this.handlers.onSort(c.sort));
      return h('div', { role: 'columnheader', class: `cell col-${c.id}${c.numeric ? ' num' : ''}`, 'aria-sort': dir, 'aria-colindex': i + 1 }, button);
    });
    this.headerRow.replaceChildren(...cells);
  }

  private schedule(): void {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.render();
    });
  }

  render(): void {
    const n = this.rows.length;
    this.body.style.height = `${Math.max(n, 1) * ROW_HEIGHT}px`;
    if (n === 0) {
      this.body.replaceChildren(this.empty);
      this.el.removeAttribute('aria-activedescendant');
      return;
    }
    const headerH = this.headerRow.offsetHeight;
    const top = Math.max(0, this.el.scrollTop - headerH);
    const height = this.el.clientHeight || 400;
    const first = Math.max(0, Math.floor(top / ROW_HEIGHT) - OVERSCAN);
    const last = Math.min(n, Math.ceil((top + height) / ROW_HEIGHT) + OVERSCAN);
    const wanted: HTMLElement[] = [];
    const keep = new Map<string, CachedRow>();
    for (let i = first; i < last; i++) {
      const r = this.rows[i]!;
      const id = r.node.row.id;
      const sig = this.signature(r, i);
      let cached = this.cache.get(id);
      if (!cached || cached.sig !== sig) cached = { el: this.rowElement(r, i), sig };
      keep.set(id, cached);
      wanted.push(cached.el);
    }
    this.cache = keep;
    // move only what moved: rows under the pointer stay the same nodes (a click whose
    // mousedown and mouseup land on different nodes is no click)
    wanted.forEach((el, i) => {
      if (this.body.children[i] !== el) this.body.insertBefore(el, this.body.children[i] ?? null);
      const id = el.dataset['rowId'];
      el.classList.toggle('selected', id === this.selectedId);
      el.classList.toggle('active', id === this.activeId);
      el.setAttribute('aria-selected', String(id === this.selectedId));
    });
    while (this.body.children.length > wanted.length) this.body.lastElementChild!.remove();
    const activeIndex = this.activeId ? this.index.get(this.activeId) : undefined;
    if (activeIndex !== undefined && activeIndex >= first && activeIndex < last) this.el.setAttribute('aria-activedescendant', rowDomId(activeIndex));
    else this.el.removeAttribute('aria-activedescendant');
  }

  private signature(r: FlatRow, i: number): string {
    const c = r.node.combined;
    const active = this.now - c.end <= ACTIVE_MS ? 1 : 0;
    return [i, r.depth, r.expanded ? 1 : 0, r.pos, r.siblings, c.spendNanos, c.requests, c.end, c.unpricedRequests, c.loggedRequests, r.node.row.spendNanos,
      r.node.models.length, r.node.children.length, active, r.node.row.branch ?? '',
      r.node.row.linesAdded, r.node.row.linesRemoved, r.node.row.filesTouched, r.node.row.commits, r.node.row.costPer100Lines, r.node.row.noOutput ? 1 : 0].join('|');
  }

  private rowElement(r: FlatRow, i: number): HTMLElement {
    const row = r.node.row;
    const ctx = { fmt: this.fmt, now: this.now };
    const cls = ['grid-row'];
    if (r.depth > 0) cls.push('nested');
    const el = h('div', {
      id: rowDomId(i),
      class: cls.join(' '),
      role: 'row',
      'aria-rowindex': i + 2,
      'aria-level': r.depth + 1,
      'aria-posinset': r.pos,
      'aria-setsize': r.siblings,
      'aria-expanded': r.hasChildren ? String(r.expanded) : undefined,
      'data-row-id': row.id,
      'data-index': i,
    });
    el.style.transform = `translateY(${i * ROW_HEIGHT}px)`;
    COLUMNS.forEach((c, ci) => {
      const { content, title } = c.cell(r, ctx);
      const cell = h('div', { role: 'gridcell', class: `cell col-${c.id}${c.numeric ? ' num' : ''}`, 'aria-colindex': ci + 1, title });
      if (c.id === 'project') cell.style.paddingInlineStart = `${6 + r.depth * 18}px`;
      for (const x of Array.isArray(content) ? content : [content]) {
        if (x === null || x === undefined || x === false) continue;
        // text in a span of its own: flex items only ellipsize inside an element
        cell.appendChild(typeof x === 'string' || typeof x === 'number' ? h('span', { class: 'ellipsis' }, String(x)) : x);
      }
      el.appendChild(cell);
    });
    return el;
  }

  private onClick(e: MouseEvent): void {
    const target = e.target as HTMLElement;
    const rowEl = target.closest<HTMLElement>('.grid-row');
    const id = rowEl?.dataset['rowId'];
    if (!id) return;
    const i = this.index.get(id);
    const r = i !== undefined ? this.rows[i] : undefined;
    if (!r) return;
    if (target.closest('[data-twisty]') && r.hasChildren) {
      this.activeId = id;
      this.handlers.onToggle(id, !r.expanded);
      return;
    }
    this.activeId = id;
    this.handlers.onSelect(id);
  }

  private setActive(id: string): void {
    this.activeId = id;
    this.ensureVisible(this.index.get(id) ?? 0);
    this.render();
  }

  private ensureVisible(i: number): void {
    const headerH = this.headerRow.offsetHeight;
    const top = i * ROW_HEIGHT;
    const view = this.el.clientHeight - headerH;
    if (top < this.el.scrollTop) this.el.scrollTop = top;
    else if (top + ROW_HEIGHT > this.el.scrollTop + view) this.el.scrollTop = top + ROW_HEIGHT - view;
  }

  private onKey(e: KeyboardEvent): void {
    if (e.target !== this.el || this.rows.length === 0) return;
    const cur = this.activeId !== null ? this.index.get(this.activeId) ?? -1 : -1;
    const page = Math.max(1, Math.floor((this.el.clientHeight - this.headerRow.offsetHeight) / ROW_HEIGHT) - 1);
    const move = (i: number) => this.setActive(this.rows[Math.max(0, Math.min(this.rows.length - 1, i))]!.node.row.id);
    const r = cur >= 0 ? this.rows[cur] : undefined;
    switch (e.key) {
      case 'ArrowDown': move(cur + 1); break;
      case 'ArrowUp': move(cur <= 0 ? 0 : cur - 1); break;
      case 'PageDown': move(cur + page); break;
      case 'PageUp': move(cur - page); break;
      case 'Home': move(0); break;
      case 'End': move(this.rows.length - 1); break;
      case 'Enter':
      case ' ':
        if (r) this.handlers.onSelect(r.node.row.id);
        break;
      case 'ArrowRight':
        if (!r) move(0);
        else if (r.hasChildren && !r.expanded) this.handlers.onToggle(r.node.row.id, true);
        else if (r.expanded) move(cur + 1);
        break;
      case 'ArrowLeft':
        if (!r) break;
        if (r.expanded) this.handlers.onToggle(r.node.row.id, false);
        else if (r.depth > 0) {
          for (let i = cur - 1; i >= 0; i--) {
            if (this.rows[i]!.depth < r.depth) {
              move(i);
              break;
            }
          }
        }
        break;
      default:
        return;
    }
    e.preventDefault();
  }
}

function rowDomId(i: number): string {
  return `session-row-${i}`;
}
