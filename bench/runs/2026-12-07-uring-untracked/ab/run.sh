#!/bin/sh
# A/B of CPU per request ÷ tokio: the build before this change (old, ed5e5fe) and after it
# (new), each side by side with tokio, alternating, 3 rounds.
for r in 1 2 3; do
  for b in old new; do
    /tmp/c10k-$b lab --models uring --side-by-side --conns 100,1000 --sizes 64,1024 --runs 3 --duration 5 --idle 1000 --out /tmp/ab-$b-$r > $b-$r.stdout 2> $b-$r.stderr
  done
done
