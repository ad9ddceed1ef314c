#!/bin/bash
# usage: bench/pair.sh BIN OUTDIR [perf|stat]: an echo server of c10k (MODEL, default uring) and the
# tokio reference on CPU 0, a `c10k load echo` against each on CPU 1 (CONNS x SIZE bytes for DUR
# seconds: default 1000 x 64 for 8 s); prints the CPU per request (utime+stime) and p99 ratios.
# SERVER=CMD runs `CMD 127.0.0.1:7101` as the first server instead (e.g. bench/monoio-ref's);
# LB=uring runs the load generators on io_uring (default: epoll).
BIN=$1; OUT=$2; MODE=$3; mkdir -p $OUT
NAME=${MODEL:-uring}; [ -n "$SERVER" ] && NAME=$(basename ${SERVER%% *})
if [ -n "$SERVER" ]; then
  taskset -c 0 $SERVER 127.0.0.1:7101 > $OUT/u.log 2>&1 & U=$!
else
  taskset -c 0 $BIN echo --model ${MODEL:-uring} --listen 127.0.0.1:7101 > $OUT/u.log 2>&1 & U=$!
fi
taskset -c 0 $BIN __tokio-echo --listen 127.0.0.1:7102 > $OUT/t.log 2>&1 & T=$!
sleep 0.5
cpu() { awk '{print $14+$15}' /proc/$1/stat; }
u0=$(cpu $U); t0=$(cpu $T)
if [ "$MODE" = perf ]; then
  perf record -e cpu-clock -F 10000 -g -p $U -o $OUT/u.data -- sleep 7 > /dev/null 2>&1 &
  perf record -e cpu-clock -F 10000 -g -p $T -o $OUT/t.data -- sleep 7 > /dev/null 2>&1 &
fi
if [ "$MODE" = stat ]; then
  perf stat -e raw_syscalls:sys_enter,context-switches,cpu-clock -p $U -o $OUT/u.stat -- sleep 6 &
  perf stat -e raw_syscalls:sys_enter,context-switches,cpu-clock -p $T -o $OUT/t.stat -- sleep 6 &
fi
taskset -c 1 $BIN load echo ${LB:+--backend $LB} --target 127.0.0.1:7101 -c ${CONNS:-1000} --size ${SIZE:-64} -d ${DUR:-8} --json > $OUT/lu.json 2>$OUT/lu.err & LU=$!
taskset -c 1 $BIN load echo ${LB:+--backend $LB} --target 127.0.0.1:7102 -c ${CONNS:-1000} --size ${SIZE:-64} -d ${DUR:-8} --json > $OUT/lt.json 2>$OUT/lt.err & LT=$!
wait $LU; u1=$(cpu $U); wait $LT; t1=$(cpu $T)
sleep 1
kill -INT $U $T
# A SERVER that keeps SIGINT ignored (a background job's default) gets SIGTERM.
[ -n "$SERVER" ] && kill -TERM $U 2>/dev/null
wait $U $T 2>/dev/null
ru=$(python3 -c "import json;print(json.load(open('$OUT/lu.json'))['requests'])" 2>/dev/null)
rt=$(python3 -c "import json;print(json.load(open('$OUT/lt.json'))['requests'])" 2>/dev/null)
python3 -c "
u=($u1-$u0)/$ru; t=($t1-$t0)/$rt
print(f'$NAME ticks/req {u*1e6:.2f}e-6 tokio {t*1e6:.2f}e-6 ratio {u/t:.3f} req {$ru} {$rt}')" | tee $OUT/result.txt
python3 -c "
import json
u=json.load(open('$OUT/lu.json'))['latency_us']; t=json.load(open('$OUT/lt.json'))['latency_us']
print('p99', u['p99'], t['p99'], 'ratio %.3f' % (u['p99']/t['p99']))" | tee -a $OUT/result.txt
