#!/bin/bash
# Side by side in one run: the uring_echo example (this crate, no runtime), `c10k echo --model
# epoll`, and the tokio reference server; CONNS connections (default 100) x 64 B, 5 s each, one
# after the other. Prints requests, system calls per request and server CPU per request
# (perf stat on the server), and the load generator's p99.
# Build first: cargo build --release -p c10k-cli -p c10k-uring --example uring_echo
set -u
W=${CARGO_TARGET_DIR:-target}/release
run() { # name port cmd...
  name=$1; port=$2; shift 2
  "$@" > /tmp/srv_$name.out 2>&1 &
  pid=$!
  sleep 1 # let the server bind before the load starts
  perf stat -e raw_syscalls:sys_enter,task-clock -p $pid -o /tmp/perf_$name.txt &
  ppid=$!
  $W/c10k load echo --target 127.0.0.1:$port -c ${CONNS:-100} -d 5 > /tmp/load_$name.txt 2>&1
  kill -INT $ppid; wait $ppid 2>/dev/null
  kill $pid 2>/dev/null; wait $pid 2>/dev/null
  req=$(awk '/requests/{print $2; exit}' /tmp/load_$name.txt)
  sys=$(awk '/raw_syscalls/{gsub(",","",$1); print $1}' /tmp/perf_$name.txt)
  clk=$(awk '/task-clock/{gsub(",","",$1); print $1}' /tmp/perf_$name.txt)
  echo "$name requests=$req syscalls/req=$(echo "scale=3; $sys/$req" | bc) cpu_us/req=$(echo "scale=2; $clk*1000/$req" | bc) p99_us=$(awk "/latency/{print \$8}" /tmp/load_$name.txt)"
}
run uring 7201 $W/examples/uring_echo 127.0.0.1:7201
run epoll 7202 $W/c10k echo --model epoll --listen 127.0.0.1:7202
run tokio 7203 $W/c10k __tokio-echo --listen 127.0.0.1:7203
