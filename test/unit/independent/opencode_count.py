# Independent count of OpenCode usage (file storage), used for the expected figures in openCode.test.ts.
# Usage: python3 opencode_count.py <data dir holding storage/>
# Rules (from OpenCode's session/processor.ts and Session.getUsage, see src/sources/openCode.ts):
#  - one request per part whose JSON type is "step-finish";
#  - an assistant message with NO part file at all counts itself when it is finished
#    (time.completed, error, or created over 24 h ago) and has a token or cost above zero;
#  - a message whose id was minted more than 60 s after its time.created is a fork copy: skipped;
#  - sessions with version < 1.0.62: input includes cache reads unless the provider is Anthropic's
#    API (anthropic, amazon-bedrock, google-vertex-anthropic, opencode + claude*) or input < cache.read;
#  - output counted = output + reasoning, unless tokens.total = input + cache + output.
import json, os, sys, time

root = os.path.join(sys.argv[1], 'storage')

def load(p):
    with open(p, encoding='utf-8') as f:
        return json.load(f)

def files(d):
    out = []
    if not os.path.isdir(d): return out
    for sub in sorted(os.listdir(d)):
        sd = os.path.join(d, sub)
        if not os.path.isdir(sd): continue
        for name in sorted(os.listdir(sd)):
            if name.endswith('.json') and not name.startswith('.'):
                out.append((sub, name[:-5], os.path.join(sd, name)))
    return out

def ver_tuple(v):
    try:
        return tuple(int(x) for x in v.split('-')[0].split('.')[:3])
    except Exception:
        return None

def minted(id_, ref):
    # OpenCode ids: prefix_ + 12 hex of (ms*4096+counter) mod 2^48
    h = int(id_.split('_', 1)[1][:12], 16) >> 12
    cyc = 1 << 36
    t = ref - ref % cyc + h
    if t - ref > cyc // 2: t -= cyc
    elif ref - t > cyc // 2: t += cyc
    return t

sessions = {sid: load(p) for _, sid, p in files(os.path.join(root, 'session'))}
messages = {}
for sid, mid, p in files(os.path.join(root, 'message')):
    m = load(p); m['_sid'] = sid; messages[mid] = m
parts_by_msg = {}
for mid, pid, p in files(os.path.join(root, 'part')):
    parts_by_msg.setdefault(mid, []).append((pid, p))

def tok(t, sess, msg):
    t = t or {}
    c = t.get('cache') or {}
    inp, out, rea = t.get('input', 0) or 0, t.get('output', 0) or 0, t.get('reasoning', 0) or 0
    rd, wr = c.get('read', 0) or 0, c.get('write', 0) or 0
    v = ver_tuple((sess or {}).get('version', '') or '')
    prov, model = msg.get('providerID', ''), msg.get('modelID', '') or ''
    anthropic = prov in ('anthropic', 'amazon-bedrock', 'google-vertex-anthropic') or (prov == 'opencode' and model.startswith('claude'))
    if v is not None and v < (1, 0, 62) and not anthropic and inp >= rd:
        inp -= rd
    if 'total' in t and rea > 0 and rea <= out and t['total'] == inp + rd + wr + out:
        o = out
    else:
        o = out + rea
    return dict(input=inp, output=o, reasoning=rea, cacheRead=rd, cacheWrite=wr)

def copied(mid, msg):
    cr = (msg.get('time') or {}).get('created')
    return msg.get('role') == 'assistant' and isinstance(cr, (int, float)) and minted(mid, cr) - cr > 60000

tot = dict(requests=0, input=0, output=0, reasoning=0, cacheRead=0, cacheWrite=0, loggedCost=0.0, loggedRequests=0, rawInput=0)
per_session = {}
def add(sid, t, cost, raw_input):
    for k in ('input', 'output', 'reasoning', 'cacheRead', 'cacheWrite'): tot[k] += t[k]
    tot['requests'] += 1; tot['rawInput'] += raw_input
    if isinstance(cost, (int, float)): tot['loggedCost'] += cost; tot['loggedRequests'] += 1
    s = per_session.setdefault(sid, dict(requests=0, rawInput=0, input=0))
    s['requests'] += 1; s['rawInput'] += raw_input; s['input'] += t['input']

for mid, plist in parts_by_msg.items():
    msg = messages.get(mid, {})
    if copied(mid, msg): continue
    for pid, p in plist:
        with open(p, 'rb') as f: b = f.read()
        d = json.loads(b)
        if d.get('type') != 'step-finish': continue
        sid = d.get('sessionID') or msg.get('sessionID') or msg.get('_sid')
        add(sid, tok(d.get('tokens'), sessions.get(sid), msg), d.get('cost'), (d.get('tokens') or {}).get('input', 0))

for mid, msg in messages.items():
    if mid in parts_by_msg or msg.get('role') != 'assistant' or copied(mid, msg): continue
    tm = msg.get('time') or {}
    if 'completed' not in tm and not msg.get('error') and not (time.time() * 1000 - (tm.get('created') or 0) > 86400000): continue
    t = msg.get('tokens') or {}
    c = t.get('cache') or {}
    if not (sum([t.get('input', 0), t.get('output', 0), t.get('reasoning', 0), c.get('read', 0), c.get('write', 0)]) > 0 or (msg.get('cost') or 0) > 0):
        continue
    sid = msg.get('sessionID') or msg['_sid']
    add(sid, tok(t, sessions.get(sid), msg), msg.get('cost'), t.get('input', 0))

tot['loggedCost'] = round(tot['loggedCost'], 9)
print(json.dumps(tot, sort_keys=True))
print(json.dumps(per_session, sort_keys=True))
