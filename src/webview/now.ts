/**
 * The panel's "Now" section (top of the page): one row per running or idle session, the plan
 * limits per agent and window, and what each plan is worth at API prices. Every text is worded by
 * the host (src/core/nowView.ts) and placed here as text (DOM helpers only, never markup); bar
 * widths and colours come from the figures beside the texts. Rows are buttons: a click, Enter or
 * Space opens the session's detail. "12 s ago" ages here between the host's messages.
 */
import type { NowViewMessage } from '../shared/protocol';
import { h, setText } from './dom';

type NowView = NowViewMessage;
type Row = NowView['sessions'][number];
type Limits = NowView['limits'][number];
type Plan = NonNullable<NowView['plans']>[number];

export interface NowCallbacks {
  /** A row was chosen: open that session in the detail below. */
  onOpen(sessionId: string): void;
}

/** "just now", "12 s ago", "3 min ago", "2 h ago", "3 days ago" (as src/core/nowView.ts `agoText`). */
function ago(ms: number): string {
  const s = Math.floor(Math.max(0, ms) / 1000);
  if (s < 1) return 'just now';
  if (s < 60) return `${s} s ago`;
  const min = Math.floor(s / 60);
  if (min < 60) return `${min} min ago`;
  const hrs = Math.floor(min / 60);
  return hrs < 48 ? `${hrs} h ago` : `${Math.floor(hrs / 24)} days ago`;
}

/** A bar 0–100 % wide (the percent clamped for the width only). */
function bar(percent: number | null, cls: string): HTMLElement {
  const fill = h('span', { class: `fill ${cls}` });
  fill.style.width = `${percent === null ? 0 : Math.max(0, Math.min(100, percent))}%`;
  return h('span', { class: 'now-bar', 'aria-hidden': 'true' }, fill);
}

export class NowSection {
  readonly el: HTMLElement;
  private readonly summary = h('span', { class: 'muted', id: 'now-summary' }, '');
  private readonly list = h('ul', { class: 'now-list', id: 'now-list', 'aria-labelledby': 'now-title' });
  private readonly empty = h('p', { class: 'muted now-empty', id: 'now-empty', hidden: true }, '');
  private readonly more = h('p', { class: 'muted now-more', hidden: true }, '');
  private readonly limits = h('div', { class: 'now-limits', id: 'now-limits' });
  private readonly plans = h('div', { class: 'now-plans', id: 'now-plans' });
  private rows: Array<{ row: Row; button: HTMLButtonElement; activity: HTMLElement }> = [];
  private hostNow = 0;
  private receivedAt = 0;
  private selected: string | null = null;

  constructor(private readonly cb: NowCallbacks) {
    this.el = h('section', { class: 'now-section', id: 'now', 'aria-labelledby': 'now-title', hidden: true },
      h('div', { class: 'section-head' }, h('h2', { id: 'now-title' }, 'Now'), this.summary),
      h('div', { class: 'now-layout' },
        h('div', { class: 'now-sessions' }, this.list, this.empty, this.more),
        h('div', { class: 'now-side' },
          h('section', { class: 'now-box', 'aria-labelledby': 'limits-title' }, h('h3', { id: 'limits-title' }, 'Plan limits'), this.limits),
          h('section', { class: 'now-box', 'aria-labelledby': 'plans-title' }, h('h3', { id: 'plans-title' }, 'What your plan is worth'), this.plans))));
  }

  render(view: NowView): void {
    this.el.hidden = false;
    this.hostNow = view.now;
    this.receivedAt = performance.now();
    const parts = [`${view.running} running`];
    if (view.idle) parts.push(`${view.idle} idle`);
    setText(this.summary, view.running || view.idle ? parts.join(' · ') : '');
    this.renderSessions(view);
    this.renderLimits(view.limits);
    this.renderPlans(view);
  }

  /** Marks the row of the session shown in the detail. */
  setSelected(rowId: string | null): void {
    this.selected = rowId;
    for (const r of this.rows) {
      const on = r.row.sessionId === rowId;
      r.button.classList.toggle('selected', on);
      r.button.setAttribute('aria-current', on ? 'true' : 'false');
    }
  }

  /** Ages the "last activity" texts (called every few seconds). */
  tick(): void {
    if (this.rows.length === 0) return;
    const now = this.hostNow + (performance.now() - this.receivedAt);
    for (const r of this.rows) {
      const text = ago(now - r.row.lastActivity);
      setText(r.activity, text);
      r.button.setAttribute('aria-label', this.label(r.row, text));
    }
  }

  private label(r: Row, activity: string): string {
    const ctx = r.context ? `, context ${r.context.text} ${r.context.sourceLabel}${r.context.warn ? ' (high)' : ''}` : '';
    const burn = r.burnText === '—' ? '' : `, burning ${r.burnText.replace('/h', ' per hour')}`;
    return `${r.project || 'unknown folder'}, ${r.agentLabel}${r.model ? `, ${r.model}` : ''}, ${r.state}, ${r.costText} so far${burn}${ctx}, last activity ${activity}. Open this session.`;
  }

  private renderSessions(view: NowView): void {
    this.empty.hidden = view.sessions.length > 0;
    setText(this.empty, view.emptyText);
    this.more.hidden = view.moreSessions === 0;
    setText(this.more, `and ${view.moreSessions} more`);
    this.rows = view.sessions.map((r) => {
      const activity = h('span', { class: 'now-activity-text' }, r.lastActivityText);
      const ctx = r.context;
      const ctxLevel = ctx && ctx.percent !== null && ctx.percent >= 100 ? 'over' : ctx?.warn ? 'warn' : 'ok';
      const button = h('button', {
        type: 'button', class: `now-row ${r.state}`, 'data-session': r.sessionId, 'data-state': r.state,
        'aria-label': this.label(r, r.lastActivityText),
        title: `${r.projectPath || '(unknown folder)'}\n${r.sessionId}\nOpen this session`,
      },
      h('span', { class: `state-dot ${r.state}`, 'aria-hidden': 'true' }),
      h('span', { class: 'now-cell now-main' },
        h('span', { class: 'now-project ellipsis' }, r.project || '(unknown folder)'),
        h('span', { class: 'now-sub muted ellipsis' }, [r.agentLabel, r.model].filter(Boolean).join(' · '))),
      h('span', { class: 'now-cell now-cost num' },
        h('span', { class: 'now-cost-text' }, r.costText),
        h('span', { class: 'now-sub muted now-burn' }, r.burnText)),
      h('span', { class: `now-cell now-context ${ctxLevel}`, 'data-level': ctxLevel },
        ctx ? h('span', { class: 'now-context-head' }, bar(ctx.percent, ctxLevel), h('span', { class: 'now-context-text num' }, ctx.text)) : h('span', { class: 'muted' }, 'context —'),
        ctx ? h('span', { class: 'now-sub muted ellipsis', title: ctx.tokensText || undefined }, ctx.sourceLabel) : null),
      h('span', { class: 'now-cell now-activity num' },
        activity,
        h('span', { class: 'now-sub muted' }, r.state === 'idle' ? `idle · ${r.ageText}` : `for ${r.ageText}`)));
      button.addEventListener('click', () => this.cb.onOpen(r.sessionId));
      return { row: r, button, activity };
    });
    this.list.replaceChildren(...this.rows.map((r) => h('li', null, r.button)));
    this.setSelected(this.selected);
  }

  private renderLimits(limits: readonly Limits[]): void {
    if (limits.length === 0) {
      this.limits.replaceChildren(h('p', { class: 'muted' }, 'No plan limits known yet. Codex logs them; Claude Code passes them to the agent-spend status line.'));
      return;
    }
    this.limits.replaceChildren(...limits.map((a) => {
      const head = h('div', { class: 'limit-head' },
        h('span', { class: 'limit-agent' }, a.agentLabel + (a.planType ? ` (${a.planType})` : '')),
        h('span', { class: `source-badge ${a.source}`, title: a.observedText ? `observed ${a.observedText}` : undefined }, a.sourceLabel));
      const rows: HTMLElement[] = a.windows.map((w) => h('div', {
        class: `limit-window ${w.level}`, 'data-kind': w.kind, role: 'group',
        'aria-label': `${a.agentLabel} ${w.name} limit: ${w.percent === null ? 'reset, no new figure yet' : `${w.percentText} used`}${w.resetText && w.percent !== null ? `, ${w.resetText}` : ''} (${a.sourceLabel})`,
      },
      h('span', { class: 'limit-label' }, w.label),
      bar(w.percent, w.level),
      h('span', { class: 'limit-pct num' }, w.percentText),
      h('span', { class: 'limit-reset muted' }, w.percent === null ? 'no new figure yet' : w.resetText)));
      const e = a.estimate;
      if (e) {
        rows.push(h('div', { class: 'limit-estimate', 'data-kind': 'five-hour' },
          h('div', null, h('span', { class: 'limit-label' }, '5h block'), ' ', h('strong', null, e.spendText), h('span', { class: 'muted' }, ` · ${e.usageText}`)),
          h('div', { class: 'muted' }, [e.resetText, e.budgetText].filter(Boolean).join(' · '))));
      }
      return h('div', { class: 'limit-agent-box', 'data-agent': a.agent, 'data-source': a.source }, head, ...rows);
    }));
  }

  private renderPlans(view: NowView): void {
    const plans = view.plans;
    if (!plans) {
      this.plans.replaceChildren(h('p', { class: 'muted plans-hint' }, view.plansHint));
      return;
    }
    this.plans.replaceChildren(...plans.map((p: Plan) => h('div', { class: 'plan', 'data-agent': p.agent },
      h('div', { class: 'plan-head muted' }, `${p.agentLabel} · ${p.name} · ${p.priceText}`),
      p.sentence
        ? h('p', { class: 'plan-sentence' }, h('span', { class: 'plan-multiple', 'aria-hidden': 'true' }, p.current?.multipleText ?? ''), ' ', p.sentence)
        : h('p', { class: 'muted' }, 'The plan does not cover this month.'),
      p.previous.length
        ? h('table', { class: 'mini plan-months' },
          h('caption', { class: 'visually-hidden' }, `${p.name}: earlier months at API prices`),
          h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Month'), h('th', { scope: 'col', class: 'num' }, 'At API prices'), h('th', { scope: 'col', class: 'num' }, 'Worth'))),
          h('tbody', null, ...p.previous.map((m) => h('tr', { 'data-month': m.month },
            h('th', { scope: 'row' }, m.label),
            h('td', { class: 'num' }, m.pricedText),
            h('td', { class: 'num' }, m.multipleText)))))
        : null)));
  }
}
