import json,sys,glob,os,statistics as st
# for each pair dir: CPU ratio, request ratio (tokio/server), mean-latency ratio, p99 ratio, p99/mean of each
rows={}
for d in sorted(glob.glob(sys.argv[1]+'/*-*/')):
    name=os.path.basename(d.rstrip('/')).rsplit('-',1)[0]
    try:
        u=json.load(open(d+'lu.json')); t=json.load(open(d+'lt.json'))
        cpu=float(open(d+'result.txt').read().split()[6])
    except Exception as e: continue
    lu,lt=u['latency_us'],t['latency_us']
    r=dict(cpu=cpu, inv_req=t['requests']/u['requests'], mean=lu['mean']/lt['mean'], p50=lu['p50']/lt['p50'],
           p99=lu['p99']/lt['p99'], spread_u=lu['p99']/lu['mean'], spread_t=lt['p99']/lt['mean'])
    rows.setdefault(name,[]).append(r)
for n,rs in rows.items():
    print(n, 'n=%d'%len(rs), ' '.join('%s %.3f'%(k, st.median([r[k] for r in rs])) for k in rs[0]))
