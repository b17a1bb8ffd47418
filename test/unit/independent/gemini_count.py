# Independent count of Gemini CLI usage, used to derive the expected figures in geminiCli.test.ts.
# Written from FORMATS.md / SOURCES.md and Gemini CLI's chatRecordingService.ts, not from geminiCli.ts.
# Usage: python3 gemini_count.py <.gemini folder>
#
# Rules: sessions are tmp/<project>/chats/session-*.json (one JSON document) and session-*.jsonl
# (a metadata line, message lines, {"$set":...} and {"$rewindTo":...} lines), plus subagents in
# tmp/<project>/chats/<parentSessionId>/*.json[l]. A request is a `gemini` message with a `tokens`
# object, identified by (sessionId, message id) across all files; the LAST copy read wins.
# input = tokens.input - tokens.cached + tokens.tool (input includes cached; tool-use prompt tokens
# are extra prompt tokens), cacheRead = cached, output = output + thoughts, reasoning = thoughts.
import glob, json, os, sys
from collections import Counter

gemini = sys.argv[1]
requests = {}        # (session, id) -> message (last copy)
copies = {}          # (session, id) -> set of token dumps (to check every copy agrees)
superseded = 0       # JSONL message records re-appended later under the same id in the same file
identity_ok = True

def take(session, msg):
    global identity_ok
    if not isinstance(msg, dict) or msg.get('type') != 'gemini' or not isinstance(msg.get('tokens'), dict):
        return
    t = msg['tokens']
    if t.get('total') != t.get('input', 0) + t.get('output', 0) + (t.get('thoughts') or 0) + (t.get('tool') or 0):
        identity_ok = False
    k = (session, msg['id'])
    requests[k] = msg
    copies.setdefault(k, set()).add(json.dumps(t, sort_keys=True))

chats_dirs = sorted(glob.glob(os.path.join(gemini, 'tmp', '*', 'chats')))
files = []
for c in chats_dirs:
    files += sorted(glob.glob(os.path.join(c, 'session-*.json')))
    files += sorted(glob.glob(os.path.join(c, 'session-*.jsonl')))
    files += sorted(glob.glob(os.path.join(c, '*', '*.json')))
    files += sorted(glob.glob(os.path.join(c, '*', '*.jsonl')))

for f in files:
    if f.endswith('.json'):
        doc = json.load(open(f, encoding='utf-8'))
        for m in doc.get('messages', []):
            take(doc['sessionId'], m)
        continue
    session = None
    ids = []
    for line in open(f, encoding='utf-8'):
        if not line.strip():
            continue
        r = json.loads(line)
        if '$rewindTo' in r:
            continue
        if 'id' in r:
            ids.append(r['id'])
            take(session, r)
        elif '$set' in r:
            s = r['$set']
            session = s.get('sessionId', session)
            for m in s.get('messages', []) or []:
                take(session, m)
        elif 'sessionId' in r:
            session = r['sessionId']
            for m in r.get('messages', []) or []:
                take(session, m)
    superseded += len(ids) - len(set(ids))

tot = Counter()
models = Counter()
for m in requests.values():
    t = m['tokens']
    tot['requests'] += 1
    tot['input'] += t['input'] - t['cached'] + (t.get('tool') or 0)
    tot['cacheRead'] += t['cached']
    tot['output'] += t['output'] + (t.get('thoughts') or 0)
    tot['reasoning'] += t.get('thoughts') or 0
    tot['tool'] += t.get('tool') or 0
    models[m.get('model')] += 1

print(json.dumps({
    'files': len(files),
    'totals': dict(tot),
    'models': dict(sorted(models.items())),
    'supersededJsonlRecords': superseded,
    'keysWithDifferingCopies': sum(1 for v in copies.values() if len(v) > 1),
    'totalIdentityHolds': identity_ok,
}, indent=1))
