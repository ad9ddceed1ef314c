#!/usr/bin/env python3
"""Instructions per request: callgrind's program total over the load's request count."""
import json, re, sys, os
here = os.path.dirname(os.path.abspath(__file__))
for name in ["uring-base", "uring-new", "epoll-base", "epoll-new", "tokio"]:
    text = open(os.path.join(here, name + ".txt")).read()
    total = int(re.search(r"([\d,]+) \(100\.0%\)\s+PROGRAM TOTALS", text).group(1).replace(",", ""))
    req = json.load(open(os.path.join(here, "load-" + name + ".json")))["requests"]
    print(f"{name:11} {req:8d} requests {total:14d} instructions {total / req:7.0f} per request")
