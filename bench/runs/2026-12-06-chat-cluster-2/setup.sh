#!/usr/bin/env bash
# Setup time of `load chat` with 10 000 clients on one node: unlimited connects vs at most 200
# between connect and join; alternating rounds; the node is the same binary in both.
set -u
out=/tmp/chatb/setup
for r in ${ROUNDS:-1 2 3}; do
  for v in unlimited new; do
    /tmp/chatb/c10k-new chat --listen 127.0.0.1:0 > $out/node.addr 2>/dev/null & sp=$!
    for _ in $(seq 300); do [ -s $out/node.addr ] && break; sleep 0.1; done
    a=$(head -1 $out/node.addr)
    timeout 300 /tmp/chatb/c10k-$v load chat --nodes $a -c 10000 --room-size 100 --rate 0.01 -d 2 --json > $out/$v-$r.json 2>$out/$v-$r.err
    kill $sp; wait $sp 2>/dev/null
    echo "$v-$r setup_s $(grep setup_s $out/$v-$r.json)"
  done
done
