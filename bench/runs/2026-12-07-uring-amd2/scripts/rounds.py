#!/usr/bin/env python3
"""rounds.py DIR...: per pair of a series directory (NAME-ROUND/ from bench/pair.sh), the
server's CPU per request ratio and its latency percentiles and mean, each as server / tokio."""
import glob, json, os, sys
for top in sys.argv[1:]:
    print(f"== {os.path.basename(top.rstrip('/'))}: server / tokio (absolute p99 in us)")
    for d in sorted(glob.glob(top + '/*-*/'), key=lambda p: (p.rstrip('/').rsplit('-', 1)[0], int(p.rstrip('/').rsplit('-', 1)[1]))):
        try:
            u = json.load(open(d + 'lu.json')); t = json.load(open(d + 'lt.json'))
            cpu = float(open(d + 'result.txt').read().split()[6])
        except Exception:
            continue
        lu, lt = u['latency_us'], t['latency_us']
        q = ' '.join(f"{k} {lu[k] / lt[k]:.3f}" for k in ['p50', 'p90', 'p99', 'p999', 'mean'])
        print(f"  {os.path.basename(d.rstrip('/')):16s} cpu {cpu:.3f} tokio's requests / its {t['requests'] / u['requests']:.3f} {q}  p99 {lu['p99']:.0f}/{lt['p99']:.0f}")
