/**
 * The selected session's detail: what it is, what it cost (and whether the agent's own
 * logged cost disagrees with the estimate), its tasks — one per user prompt — and, for
 * an expanded task, its requests. Prompt titles, paths, model ids and branch names are
 * untrusted log text: they only ever become text nodes.
 */
import { basisOf, folderOf, tokensOf } from '../core/viewModel';
import type { RequestView, SessionDetail, TaskView } from '../shared/protocol';
import { h, type Child } from './dom';
import { agentLabel, type Fmt } from './fmt';
import { BASIS_HELP, BASIS_LABEL } from './table';

export interface DetailHandlers {
  onReveal(rowId: string): void;
  onClose(): void;
  onToggleTask(taskId: string, expand: boolean): void;
}

const TASK_COLUMNS = ['Task', 'Started', 'Duration', 'Requests', 'Tokens', 'Cost', 'Models', 'Files touched'];

export function renderDetail(
  container: HTMLElement,
  detail: SessionDetail | null | undefined,
  state: { rowId: string | null; expanded: ReadonlySet<string>; loading: boolean },
  fmt: Fmt,
  handlers: DetailHandlers,
): void {
  // keep the focused control across live re-renders
  const focusKey = (document.activeElement as HTMLElement | null)?.dataset?.['focusKey'];
  container.replaceChildren();
  if (!state.rowId) {
    container.hidden = true;
    return;
  }
  container.hidden = false;
  if (!detail) {
    container.append(
      h('div', { class: 'detail-head' }, h('h2', { id: 'detail-title' }, state.loading ? 'Loading session…' : 'This session is no longer in the logs'),
        closeButton(handlers)),
    );
    return;
  }
  const isSub = detail.subagentId !== undefined;
  const name = isSub ? `Subagent ${detail.subagentId}` : folderOf(detail.project) || '(unknown folder)';
  const meta = [agentLabel(detail.agent), detail.branch ? `branch ${detail.branch}` : null].filter(Boolean).join(' · ');
  const reveal = h('button', { type: 'button', class: 'secondary', 'data-focus-key': 'reveal', title: `Open ${detail.file}` }, 'Reveal log in editor');
  reveal.addEventListener('click', () => handlers.onReveal(detail.rowId));
  container.append(
    h('div', { class: 'detail-head' },
      h('h2', { id: 'detail-title', tabindex: -1 }, h('span', { class: 'detail-name' }, name), h('span', { class: 'muted' }, ` · ${meta}`)),
      h('div', { class: 'detail-actions' }, reveal, closeButton(handlers))),
  );

  const basis = basisOf(detail);
  const facts: Array<[string, Child | Child[], string?]> = [
    ['Cost', [h('strong', null, fmt.usd(detail.spendNanos) + (detail.unpricedRequests ? '+' : '')), ' ', h('span', { class: `basis basis-${basis}`, title: BASIS_HELP[basis] ?? '' }, BASIS_LABEL[basis] ?? basis)]],
    ['Requests', fmt.int(detail.requests) + (detail.unpricedRequests ? ` (${fmt.int(detail.unpricedRequests)} unpriced)` : '')],
    ['Tokens', `${fmt.compact(tokensOf(detail))}`, `input ${fmt.int(detail.inputTokens)} · output ${fmt.int(detail.outputTokens)} · cache write ${fmt.int(detail.cacheWriteTokens)} · cache read ${fmt.int(detail.cacheReadTokens)}`],
    ['Started', fmt.dateTime(detail.start)],
    ['Duration', fmt.duration(detail.end - detail.start)],
  ];
  if (detail.subagents > 0) facts.push(['Subagents', fmt.int(detail.subagents)]);
  facts.push(['Project', detail.project || '—', detail.project]);
  facts.push(['Session', detail.sessionId]);
  facts.push(['Log file', detail.file, detail.file]);
  container.append(h('dl', { class: 'facts' }, ...facts.flatMap(([k, v, title]) => {
    const dd = h('dd', { title });
    for (const c of Array.isArray(v) ? v : [v]) if (c !== null && c !== undefined && c !== false) dd.append(typeof c === 'string' || typeof c === 'number' ? String(c) : c);
    return [h('dt', null, k), dd];
  })));

  if (detail.loggedCostNanos > 0 && detail.costNanos > 0 && basis === 'mixed') {
    container.append(h('p', { class: 'note' }, `${fmt.usd(detail.loggedCostNanos)} of this was logged by the agent; the rest is estimated at list prices.`));
  }
  const check = detail.costCheck;
  if (check) {
    const diff = check.differencePercent === null ? 'the estimate is $0' : `${fmt.percent(check.differencePercent)} against the estimate`;
    container.append(h('p', { class: 'note warn', role: 'note' },
      h('strong', null, 'Logged cost differs from the estimate: '),
      `${agentLabel(detail.agent)} logged ${fmt.usd(check.loggedNanos)} for ${fmt.int(check.requests)} request${check.requests === 1 ? '' : 's'} that list prices put at ${fmt.usd(check.estimateNanos)} (${diff}). The logged figure is the one counted.`));
  }

  const tasks = detail.tasks;
  const onlyUntitled = tasks.length > 0 && tasks.every((t) => !t.title);
  container.append(h('h3', { id: 'tasks-title' }, `Tasks (${fmt.int(tasks.length)})`));
  if (onlyUntitled) {
    container.append(h('p', { class: 'muted small' }, 'No prompts were found in this log, so the session is one task. With prompts, each task is one prompt and the agent\u2019s work until the next.'));
  }
  const table = h('table', { class: 'tasks', 'aria-labelledby': 'tasks-title' },
    h('thead', null, h('tr', null, h('th', { scope: 'col', class: 'expander' }, h('span', { class: 'visually-hidden' }, 'Expand')),
      ...TASK_COLUMNS.map((c, i) => h('th', { scope: 'col', class: i >= 2 && i <= 5 ? 'num' : undefined }, c)))));
  const body = h('tbody');
  tasks.forEach((t, i) => {
    const expanded = state.expanded.has(t.id);
    body.append(taskRow(t, i, expanded, tasks.length, fmt, handlers));
    if (expanded) body.append(requestsRow(t, i, fmt));
  });
  if (tasks.length === 0) body.append(h('tr', null, h('td', { colspan: TASK_COLUMNS.length + 1, class: 'muted' }, 'No requests yet.')));
  table.append(body);
  container.append(h('div', { class: 'table-scroll' }, table));

  if (focusKey) {
    const el = container.querySelector<HTMLElement>(`[data-focus-key="${CSS.escape(focusKey)}"]`);
    el?.focus({ preventScroll: true });
  }
}

function closeButton(handlers: DetailHandlers): HTMLElement {
  const b = h('button', { type: 'button', class: 'icon-button', title: 'Close the session detail', 'aria-label': 'Close the session detail', 'data-focus-key': 'close' }, '✕');
  b.addEventListener('click', () => handlers.onClose());
  return b;
}

function taskTitle(t: TaskView, count: number): { text: string; untitled: boolean } {
  if (t.title) return { text: t.title, untitled: false };
  if (t.beforeFirstPrompt) return { text: 'Before the first prompt', untitled: true };
  return { text: count === 1 ? 'Whole session (no prompt recorded)' : 'Untitled task (no prompt recorded)', untitled: true };
}

function taskRow(t: TaskView, i: number, expanded: boolean, count: number, fmt: Fmt, handlers: DetailHandlers): HTMLElement {
  const { text, untitled } = taskTitle(t, count);
  const listId = `task-requests-${i}`;
  const toggle = h('button', {
    type: 'button', class: `twisty-button${expanded ? ' open' : ''}`, 'aria-expanded': String(expanded), 'aria-controls': expanded ? listId : undefined,
    'aria-label': `${expanded ? 'Hide' : 'Show'} the requests of task ${i + 1}`, 'data-focus-key': `task:${t.id}`, disabled: t.requests === 0,
  });
  toggle.addEventListener('click', () => handlers.onToggleTask(t.id, !expanded));
  const tokens = tokensOf(t);
  const basis = basisOf(t);
  return h('tr', { class: `task${expanded ? ' expanded' : ''}`, 'data-task-id': t.id },
    h('td', { class: 'expander' }, toggle),
    h('td', { class: `task-title${untitled ? ' untitled' : ''}`, title: text }, text),
    h('td', { class: 'nowrap' }, fmt.dateTime(t.start)),
    h('td', { class: 'num' }, t.requests ? fmt.duration(t.end - t.start) : '—'),
    h('td', { class: 'num' }, fmt.int(t.requests)),
    h('td', { class: 'num', title: `input ${fmt.int(t.inputTokens)} · output ${fmt.int(t.outputTokens)} · cache write ${fmt.int(t.cacheWriteTokens)} · cache read ${fmt.int(t.cacheReadTokens)}` }, fmt.compact(tokens)),
    h('td', { class: 'num', title: BASIS_HELP[basis] ?? '' }, t.requests ? fmt.usd(t.spendNanos) + (t.unpricedRequests ? '+' : '') : '—'),
    h('td', { class: 'models', title: t.models.join('\n') }, t.models.join(', ') || '—'),
    h('td', { class: 'num', title: t.filesTouched === null ? 'Not known for this agent' : 'Files the agent edited in this task (from its own edit tool calls)' }, t.filesTouched === null ? '—' : fmt.int(t.filesTouched)),
  );
}

function requestsRow(t: TaskView, i: number, fmt: Fmt): HTMLElement {
  const list = t.requestList ?? [];
  const hasSub = list.some((r) => r.subagentId !== undefined);
  const head = ['Time', 'Model', 'Input', 'Output', 'Cache write', 'Cache read', 'Cost', 'Basis', ...(hasSub ? ['Subagent'] : [])];
  const table = h('table', { class: 'requests', 'aria-label': `Requests of ${t.title || 'the task'}` },
    h('thead', null, h('tr', null, ...head.map((c, i) => h('th', { scope: 'col', class: i >= 2 && i <= 6 ? 'num' : undefined }, c)))),
    h('tbody', null, ...list.map((r) => requestRow(r, hasSub, fmt))));
  const cell = h('td', { colspan: TASK_COLUMNS.length + 1, class: 'requests-cell', id: `task-requests-${i}` });
  if (!t.requestList) cell.append(h('p', { class: 'muted small' }, 'Loading requests…'));
  else {
    if (t.requestsOmitted) cell.append(h('p', { class: 'muted small' }, `The ${fmt.int(list.length)} most recent of ${fmt.int(t.requests)} requests.`));
    cell.append(table);
  }
  return h('tr', { class: 'requests-row' }, cell);
}

function requestRow(r: RequestView, hasSub: boolean, fmt: Fmt): HTMLElement {
  return h('tr', null,
    h('td', { class: 'nowrap', title: new Date(r.timestamp).toISOString() }, fmt.time(r.timestamp)),
    h('td', { class: 'model' }, r.model),
    h('td', { class: 'num' }, fmt.int(r.inputTokens)),
    h('td', { class: 'num', title: r.reasoningTokens ? `${fmt.int(r.reasoningTokens)} reasoning` : undefined }, fmt.int(r.outputTokens)),
    h('td', { class: 'num' }, fmt.int(r.cacheWriteTokens)),
    h('td', { class: 'num' }, fmt.int(r.cacheReadTokens)),
    h('td', { class: 'num' }, r.spendNanos === null ? '—' : fmt.usd(r.spendNanos)),
    h('td', null, h('span', { class: `basis basis-${r.basis}`, title: BASIS_HELP[r.basis] ?? '' }, BASIS_LABEL[r.basis] ?? r.basis)),
    hasSub ? h('td', { class: 'mono', title: r.subagentId }, r.subagentId ? r.subagentId.slice(0, 8) : '—') : null,
  );
}
