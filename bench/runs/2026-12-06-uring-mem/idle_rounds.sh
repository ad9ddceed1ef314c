#!/bin/sh
# Alternates: the build with the pool starting at 64 (uring, then epoll), then the build
# starting at 256 (uring). Usage: idle_rounds.sh ROUNDS N
D=$(dirname "$0")
for r in $(seq 1 "$1"); do
  echo "== round $r: pool 64 build"; python3 "$D/idle_mem.py" /tmp/u-c10k-64 "$2" 1 uring epoll
  echo "== round $r: pool 256 build"; python3 "$D/idle_mem.py" /tmp/u-c10k-256 "$2" 1 uring
done
