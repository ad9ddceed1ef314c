#!/bin/sh
# Alternates per round: the 4 KiB-buffer build (uring, then epoll), then the 2 KiB build
# (uring). Usage: idle_rounds.sh ROUNDS N OLD_BINARY NEW_BINARY
D=$(dirname "$0")
for r in $(seq 1 "$1"); do
  echo "== round $r: 4 KiB build"; python3 "$D/idle_mem.py" "$3" "$2" 1 uring epoll
  echo "== round $r: 2 KiB build"; python3 "$D/idle_mem.py" "$4" "$2" 1 uring
done
