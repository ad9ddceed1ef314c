#!/usr/bin/env python3
"""Splits bench/syscalls.py's JSON into kernel (CPU - user) and user time per request."""
import json, statistics as st, sys
d = json.load(open(sys.argv[1]))
print("cell          | uring kernel ns/req | tokio kernel ns/req | kernel ratio | uring user | tokio user | user diff ns | CPU ratio")
for c in d:
    rows = []
    for r in c['runs']:
        u, t = r['uring'], r['tokio']
        rows.append((u['cpu_ns_per_req'] - u['user_ns_per_req'], t['cpu_ns_per_req'] - t['user_ns_per_req'],
                     u['user_ns_per_req'], t['user_ns_per_req'], u['cpu_ns_per_req'] / t['cpu_ns_per_req']))
    m = [st.median(x) for x in zip(*rows)]
    print(f"{c['conns']:>5} x {c['size']:<5} | {m[0]:19.0f} | {m[1]:19.0f} | {m[0]/m[1]:12.3f} | {m[2]:10.0f} | {m[3]:10.0f} | {m[2]-m[3]:12.0f} | {m[4]:.3f}")
