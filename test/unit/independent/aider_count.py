# Independent count of aider usage reports, used for the expected real-log figures in aider.test.ts.
# Usage: python3 aider_count.py <.aider.chat.history.md> [...]
# Written from aider's output format (aider/io.py, aider/coders/base_coder.py), not from the adapter:
#   "# aider chat started at YYYY-MM-DD HH:MM:SS"  starts a session
#   "> Tokens: S sent[, W cache write][, H cache hit], R received.[ Cost: $X message|request, $Y session.]"
#   the "Cost: ..." part may instead open the NEXT line (no "> ")
#   counts: 587 / 5,359 / 1.2k / 12k;  uncached input = max(0, sent - write - hit)
#   (aider dev builds of Aug 2024 wrote "N cached" and exact counts with sent < write + hit: sent is uncached)
#   model = the latest "> Model: / > Main model: / > Models:" name in the session (no architect/editor logic)
import json, re, sys

def num(s):
    if s is None: return 0
    s = s.replace(',', '')
    return round(float(s[:-1]) * 1000) if s.endswith('k') else int(s)

for path in sys.argv[1:]:
    lines = open(path, encoding='utf-8', errors='replace').read().split('\n')
    res = dict(sessions=0, sessions_with_usage=0, usage_lines=0, lines_with_cost=0, cost_on_next_line=0,
               message_cost_sum=0.0, session_last_figure_sum=0.0, sent=0, cache_write=0, cache_hit=0,
               received=0, uncached=0, models={})
    session_has_usage = False
    last_figure = None
    model = None
    def close():
        global session_has_usage, last_figure
        if session_has_usage: res['sessions_with_usage'] += 1
        if last_figure is not None: res['session_last_figure_sum'] += last_figure
        session_has_usage = False; last_figure = None
    for i, line in enumerate(lines):
        line = line.rstrip('\r')
        if re.match(r'# aider chat started at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\s*$', line):
            close(); res['sessions'] += 1; model = None
            continue
        m = re.match(r'> (Main model|Model|Models): (\S+?)⚡? with ', line)
        if m: model = m.group(2); continue
        if not line.startswith('> Tokens: '): continue
        m = re.match(r'> Tokens: ([\d.,]+k?) sent(?:, ([\d.,]+k?) cache write)?(?:, ([\d.,]+k?) cache hit)?(?:, ([\d.,]+k?) cached)?, ([\d.,]+k?) received(?:, cache costs not included)?\.(.*)$', line)
        if not m: continue
        s, w, h, cached, r = num(m.group(1)), num(m.group(2)), num(m.group(3)), num(m.group(4)), num(m.group(5))
        exact = not any(g and g.endswith('k') for g in (m.group(1), m.group(2), m.group(3)))
        sent_is_uncached = m.group(4) is not None or (exact and s < w + h)
        h += cached
        res['usage_lines'] += 1; session_has_usage = True
        res['sent'] += s; res['cache_write'] += w; res['cache_hit'] += h; res['received'] += r
        res['uncached'] += s if sent_is_uncached else max(0, s - w - h)
        res['models'][model or '(none)'] = res['models'].get(model or '(none)', 0) + 1
        tail = m.group(6)
        c = re.match(r'\s*Cost: \$([\d.]+) (?:message|request), \$([\d.]+) session\.', tail)
        if not c and tail.strip() == '' and i + 1 < len(lines):
            c = re.match(r'Cost: \$([\d.]+) (?:message|request), \$([\d.]+) session\.', lines[i + 1])
            if c: res['cost_on_next_line'] += 1
        if c:
            res['lines_with_cost'] += 1
            res['message_cost_sum'] += float(c.group(1))
            last_figure = float(c.group(2))
    close()
    res['message_cost_sum'] = round(res['message_cost_sum'], 6)
    res['session_last_figure_sum'] = round(res['session_last_figure_sum'], 6)
    print(json.dumps({path.split('/')[-2]: res}))
