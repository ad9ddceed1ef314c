#!/bin/bash
# solo.sh KIND [DUR]: one server alone on CPU 0, load on CPU 1; prints req/s, server CPU%, CPU/req (us), load CPU%, p50/p99
K=$1; D=${2:-6}; B=/tmp/u/c10k-base
case $K in
  tokio) taskset -c 0 $B __tokio-echo --listen 127.0.0.1:7101 >/dev/null 2>&1 & S=$! ;;
  monoio) MONOIO_TASKRUN=coop taskset -c 0 /tmp/u/monoio 127.0.0.1:7101 >/dev/null 2>&1 & S=$! ;;
  *) taskset -c 0 ${BIN:-$B} echo --model $K --listen 127.0.0.1:7101 >/dev/null 2>&1 & S=$! ;;
esac
sleep 0.5
cpu() { awk '{print $14+$15}' /proc/$1/stat; }
s0=$(cpu $S)
taskset -c 1 $B load echo --target 127.0.0.1:7101 -c ${CONNS:-1000} --size ${SIZE:-64} -d $D --json > /tmp/u/solo-$K.json 2>/dev/null & L=$!
sleep 0.2; l0=$(cpu $L); s0=$(cpu $S); t0=$(date +%s.%N)
wait $L; s1=$(cpu $S); t1=$(date +%s.%N)
kill -TERM $S; wait $S 2>/dev/null
python3 - <<PY
import json
j=json.load(open('/tmp/u/solo-$K.json')); r=j['requests']; lat=j['latency_us']
el=$t1-$t0; sc=($s1-$s0)/100
print(f"$K req/s {r/$D:9.0f} server cpu {sc/el*100:5.1f}% cpu/req {sc/r*1e6*$D/el:6.2f}us p50 {lat.get('p50')} p99 {lat['p99']}")
PY
