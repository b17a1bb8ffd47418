# Independent count of Cline / Roo Code / Kilo Code task usage (ui_messages.json), used to check
# the figures ClineSource gives for the real logs in cline.test.ts. Written from the rules in
# FORMATS.md and the agents' own code (cline getApiMetrics/combineApiRequests, Roo cost.ts), not
# from src/sources/cline.ts.
# Usage: python3 cline_count.py <tasks folder> [agent]   -> one JSON object per task id, printed as JSON.
#   requests: api_req_started entries whose text has a usage field (tokensIn/tokensOut/cacheWrites/
#             cacheReads/cost), plus aggregate entries (deleted_api_reqs, subagent_usage,
#             api_req_deleted) with any non-zero figure; input = uncached input tokens.
import json, os, sys

root = sys.argv[1]
agent = sys.argv[2] if len(sys.argv) > 2 else 'cline'
USAGE = ('tokensIn', 'tokensOut', 'cacheWrites', 'cacheReads', 'cost')
AGGREGATES = ('deleted_api_reqs', 'subagent_usage', 'api_req_deleted')
# Cline providers whose tokensIn is the provider's prompt_tokens (cache included), per cline src/core/api/providers.
CLINE_TOTAL_INPUT = {'openai', 'openai-codex', 'xai', 'lmstudio', 'fireworks', 'doubao', 'qwen', 'zai', 'hicap', 'litellm', 'oca'}


def num(v):
    return v if isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0 else 0


def load_text(t):
    if not isinstance(t, str):
        return {}
    try:
        o = json.loads(t)
    except ValueError:
        return {}
    return o if isinstance(o, dict) else {}


def uncached(info, msg, aggregate):
    tin, cw, cr = num(info.get('tokensIn')), num(info.get('cacheWrites')), num(info.get('cacheReads'))
    proto = info.get('apiProtocol', msg.get('apiProtocol'))
    provider = (msg.get('modelInfo') or {}).get('providerId')
    if proto == 'anthropic':
        total = 'request' not in info  # Roo/Kilo before Oct 2025 kept `request` and logged anthropic input without cache
    elif proto is not None:
        total = True
    elif aggregate and agent != 'cline':
        total = True
    else:
        total = agent == 'cline' and provider in CLINE_TOTAL_INPUT
    return tin - cw - cr if total and tin >= cw + cr else tin


out = {}
for task in sorted(os.listdir(root)):
    f = os.path.join(root, task, 'ui_messages.json')
    if not os.path.isfile(f):
        continue
    msgs = json.load(open(f, encoding='utf-8'))
    # combineApiRequests: each api_req_started takes the next api_req_finished after it
    merged = {}
    i = 0
    while i < len(msgs):
        m = msgs[i]
        if m.get('type') == 'say' and m.get('say') == 'api_req_started':
            j = next((k for k in range(i + 1, len(msgs)) if msgs[k].get('type') == 'say' and msgs[k].get('say') == 'api_req_finished'), None)
            if j is not None:
                d = dict(load_text(m.get('text')))
                d.update(load_text(msgs[j].get('text')))
                merged[i] = d
                i = j
        i += 1
    t = {'requests': 0, 'input': 0, 'output': 0, 'cacheWrite': 0, 'cacheRead': 0, 'cost': 0.0, 'models': {}}
    for idx, m in enumerate(msgs):
        if m.get('type') != 'say':
            continue
        say = m.get('say')
        if say == 'api_req_started':
            info = merged.get(idx, load_text(m.get('text')))
            if not any(isinstance(info.get(k), (int, float)) for k in USAGE):
                continue
            agg = False
        elif say in AGGREGATES:
            info = load_text(m.get('text'))
            if not any(num(info.get(k)) for k in USAGE):
                continue
            agg = True
        else:
            continue
        t['requests'] += 1
        t['input'] += uncached(info, m, agg)
        t['output'] += num(info.get('tokensOut'))
        t['cacheWrite'] += num(info.get('cacheWrites'))
        t['cacheRead'] += num(info.get('cacheReads'))
        c = info.get('cost')
        if isinstance(c, (int, float)):
            t['cost'] += c
        model = (m.get('modelInfo') or {}).get('modelId')
        t['models'][model or '(none)'] = t['models'].get(model or '(none)', 0) + 1
    t['cost'] = round(t['cost'], 9)
    out[task] = t
print(json.dumps(out, sort_keys=True))
