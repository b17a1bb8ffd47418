/** Numbers, money, dates and durations in the user's locale (VS Code's display language). */
import { formatDuration, formatUSD } from '../core/format';

const AGENT_LABELS: Record<string, string> = {
  'claude-code': 'Claude Code',
  codex: 'Codex CLI',
  'gemini-cli': 'Gemini CLI',
  opencode: 'OpenCode',
  cline: 'Cline',
  'roo-code': 'Roo Code',
  'kilo-code': 'Kilo Code',
  aider: 'Aider',
};

export function agentLabel(id: string): string {
  return AGENT_LABELS[id] ?? id;
}

function validLocale(locale: string | undefined): string | undefined {
  if (!locale) return undefined;
  try {
    return Intl.NumberFormat.supportedLocalesOf([locale]).length ? locale : undefined;
  } catch {
    return undefined;
  }
}

export class Fmt {
  readonly locale: string | undefined;
  private readonly intFmt: Intl.NumberFormat;
  private readonly compactFmt: Intl.NumberFormat;
  private readonly usdCompactFmt: Intl.NumberFormat;
  private readonly pctFmt: Intl.NumberFormat;
  private readonly dateTimeFmt: Intl.DateTimeFormat;
  private readonly timeFmt: Intl.DateTimeFormat;
  private readonly shortFmt: Intl.DateTimeFormat;
  private readonly shortYearFmt: Intl.DateTimeFormat;
  private readonly dayFmt: Intl.DateTimeFormat;
  private readonly longDayFmt: Intl.DateTimeFormat;

  constructor(locale?: string) {
    this.locale = validLocale(locale);
    const l = this.locale;
    this.intFmt = new Intl.NumberFormat(l, { maximumFractionDigits: 0 });
    this.compactFmt = new Intl.NumberFormat(l, { notation: 'compact', maximumFractionDigits: 1 });
    this.usdCompactFmt = new Intl.NumberFormat(l, { style: 'currency', currency: 'USD', notation: 'compact', maximumFractionDigits: 2 });
    this.pctFmt = new Intl.NumberFormat(l, { style: 'percent', maximumFractionDigits: 1, signDisplay: 'exceptZero' });
    this.dateTimeFmt = new Intl.DateTimeFormat(l, { dateStyle: 'medium', timeStyle: 'short' });
    this.timeFmt = new Intl.DateTimeFormat(l, { hour: '2-digit', minute: '2-digit', second: '2-digit' });
    this.shortFmt = new Intl.DateTimeFormat(l, { month: 'short', day: 'numeric', hour: 'numeric', minute: '2-digit' });
    this.shortYearFmt = new Intl.DateTimeFormat(l, { year: 'numeric', month: 'short', day: 'numeric', hour: 'numeric', minute: '2-digit' });
    this.dayFmt = new Intl.DateTimeFormat(l, { month: 'short', day: 'numeric', timeZone: 'UTC' });
    this.longDayFmt = new Intl.DateTimeFormat(l, { dateStyle: 'medium', timeZone: 'UTC' });
  }

  /** $1,234.56 (and "<$0.01" for dust). */
  usd(nanos: number): string {
    return formatUSD(nanos, this.locale);
  }

  /** $1.2K for chart axes. */
  usdCompact(nanos: number): string {
    return this.usdCompactFmt.format(nanos / 1e9);
  }

  int(n: number): string {
    return this.intFmt.format(n);
  }

  /** 1.2M, 340K in the locale's compact notation. */
  compact(n: number): string {
    return n < 10_000 ? this.intFmt.format(n) : this.compactFmt.format(n);
  }

  percent(p: number): string {
    return this.pctFmt.format(p / 100);
  }

  dateTime(ms: number): string {
    return ms > 0 ? this.dateTimeFmt.format(ms) : '—';
  }

  /** "Nov 24, 2:15 PM" (the year only when it is not this year). */
  shortDateTime(ms: number): string {
    if (ms <= 0) return '—';
    return (new Date(ms).getFullYear() === new Date().getFullYear() ? this.shortFmt : this.shortYearFmt).format(ms);
  }

  time(ms: number): string {
    return this.timeFmt.format(ms);
  }

  /** A YYYY-MM-DD key as "Nov 24" (calendar day, no time zone shift). */
  day(key: string): string {
    return this.dayFmt.format(dayUTC(key));
  }

  longDay(key: string): string {
    return this.longDayFmt.format(dayUTC(key));
  }

  duration(ms: number): string {
    return formatDuration(ms);
  }
}

function dayUTC(key: string): number {
  const [y, m, d] = key.split('-').map(Number) as [number, number, number];
  return Date.UTC(y, m - 1, d);
}
