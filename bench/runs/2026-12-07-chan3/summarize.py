#!/usr/bin/env python3
"""Median [min-max] over runs of each line's per-run median ratio, base vs new."""
import re, sys, glob, statistics as st, os
d = sys.argv[1] if len(sys.argv) > 1 else "final"
for kind in ["async", "blocking"]:
    for b in ["base", "new"]:
        rows = {}
        for f in sorted(glob.glob(f"{d}/{kind}-{b}-*.txt")):
            wl = ""
            for line in open(f):
                m = re.match(r"(mpsc .*|queue.*):$", line.strip())
                if m: wl = m.group(1); continue
                m = re.match(r"\s*(.*), time: median ([\d.]+)", line)
                if m: rows.setdefault(f"{wl} | {m.group(1)}", []).append(float(m.group(2))); continue
                m = re.match(r"(\w+): median ([\d.]+),", line.strip())
                if m: rows.setdefault(m.group(1), []).append(float(m.group(2)))
        if rows: print(f"== {kind} {b} ({len(glob.glob(f'{d}/{kind}-{b}-*.txt'))} runs)")
        for k, v in rows.items():
            print(f"  {k}: {st.median(v):.2f} [{min(v):.2f}-{max(v):.2f}]")
