import re,glob,statistics as st,sys
import os; D=sys.argv[1] if len(sys.argv)>1 else os.path.dirname(os.path.abspath(__file__))
def parse(f, workload):
    t=open(f).read()
    sec=t.split(workload+':')[1].split('\nmpsc ')[0]
    out={}
    for m in re.finditer(r"  (.*?), (time|CPU): median ([\d.]+) \[([\d.]+)-([\d.]+)\]",sec):
        out[(m.group(1).split(':')[0],m.group(2))]=float(m.group(3))
    for m in re.finditer(r"  (\S+/\S+): median ([\d.]+) ms, CPU ([\d.]+) ms",sec):
        out[(m.group(1),'ms')]=float(m.group(2)); out[(m.group(1),'cpums')]=float(m.group(3))
    la=re.findall(r"load average: ([\d.]+)",t)
    out['load']=(float(la[0]),float(la[-1]))
    return out
count=lambda pat: len(glob.glob(f'{D}/{pat}'))
for flavor,wl in [('mt','mpsc bounded 64 2 workers'),('mt','mpsc unbounded 2 workers'),('ct','mpsc bounded 64 current-thread'),('ct','mpsc unbounded current-thread')]:
    n=count(f'async-mpsc-{flavor}-chan-*.txt')
    if n == 0:
        continue
    print('==',wl)
    for who in ['chan','base']:
        runs=[parse(f'{D}/async-mpsc-{flavor}-{who}-{i}.txt',wl) for i in range(1,n+1)]
        for pair in ["channels on tokio's runtime","channels on c10k's runtime","whole stack"]:
            for k in ['time','CPU']:
                v=[r[(pair,k)] for r in runs]
                print(f"  {who} {pair:30s} {k:4s} median {st.median(v):.2f} [{min(v):.2f}-{max(v):.2f}]  runs: {' '.join('%.2f'%x for x in v)}")
        for line in ['c10k/c10k','tokio/tokio','c10k/tokio','tokio/c10k']:
            v=[r[(line,'ms')] for r in runs]
            print(f"  {who} {line:12s} ms median {st.median(v):.3f} [{min(v):.3f}-{max(v):.3f}]")
        l=[r['load'][0] for r in runs]+[r['load'][1] for r in runs]
        print(f"  {who} load {min(l)}-{max(l)}")
n = count('crossbeam-chan-*.txt')
if n:
    print('== crossbeam (crossbeam time / c10k time, median per run, alternating runs)')
for who in ['chan','base'] if n else []:
    for wl in ['mpsc_bounded_64_1p1c','mpsc_unbounded_1p1c','queue_bounded_64_2p2c']:
        v=[float(re.search(wl+r": median ([\d.]+)",open(f'{D}/crossbeam-{who}-{i}.txt').read()).group(1)) for i in range(1,count('crossbeam-chan-*.txt')+1)]
        print(f"  {who} {wl:24s} {' '.join('%.2f'%x for x in v)}  median {st.median(v):.2f}")
