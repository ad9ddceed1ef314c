#!/usr/bin/env python3
"""Median, mean and range of the CPU-per-request and p99 ratios (server ÷ tokio) per variant
of each summary file given: lines `VARIANT ROUND CPU_RATIO [REQ REQ] p99 P99_RATIO`."""
import statistics, sys
for path in sys.argv[1:]:
    rows = {}
    for line in open(path):
        f = line.split()
        if len(f) < 3 or f[2] in ("", "ratio"):
            continue
        cpu = float(f[2]); p99 = float(f[f.index("p99") + 1])
        rows.setdefault(f[0], []).append((cpu, p99))
    print(path)
    for name, v in rows.items():
        c = [x[0] for x in v]; p = [x[1] for x in v]
        print(f"  {name:13} n={len(v)}  CPU median {statistics.median(c):.3f} mean {statistics.mean(c):.3f} "
              f"[{min(c):.3f}-{max(c):.3f}]   p99 median {statistics.median(p):.3f} [{min(p):.3f}-{max(p):.3f}]")
