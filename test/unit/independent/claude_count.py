# Independent count of Claude Code usage, used to derive the expected figures in claudeCode.test.ts.
# Usage: python3 claude_count.py <CLAUDE_CONFIG_DIR>/projects [prog]   (prog: also read progress mirrors)
import json,os,sys
root=sys.argv[1]; incl_prog=len(sys.argv)>2
req={}
for dp,dn,fn in os.walk(root):
  for f in fn:
    if not f.endswith('.jsonl'): continue
    for line in open(os.path.join(dp,f),encoding='utf-8',errors='replace'):
      try: r=json.loads(line)
      except Exception: continue
      if not isinstance(r,dict): continue
      m=None; rid=None
      if r.get('type')=='assistant': m=r.get('message'); rid=r.get('requestId')
      elif incl_prog and r.get('type')=='progress':
        d=r.get('data') or {}
        mm=d.get('message') or {}
        if isinstance(mm,dict) and mm.get('type')=='assistant': m=mm.get('message'); rid=mm.get('requestId')
      if not isinstance(m,dict) or 'usage' not in m: continue
      if m.get('model')=='<synthetic>': continue
      k=(m.get('id'),rid)
      u=m['usage']
      o=u.get('output_tokens',0)
      if k not in req or o>req[k]['output_tokens']: req[k]=u
tot={'n':len(req)}
for u in req.values():
  for f in ['input_tokens','output_tokens','cache_creation_input_tokens','cache_read_input_tokens']:
    tot[f]=tot.get(f,0)+(u.get(f) or 0)
print(tot)
