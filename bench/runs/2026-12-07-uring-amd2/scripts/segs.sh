#!/bin/bash
# segs.sh KIND: one server alone on CPU 0 (uring|epoll|tokio|monoio), load on CPU 1, 1000x64 6 s; nstat deltas per request
K=$1; B=/tmp/u/c10k-base
case $K in
  tokio) taskset -c 0 $B __tokio-echo --listen 127.0.0.1:7101 >/dev/null 2>&1 & S=$! ;;
  monoio) MONOIO_TASKRUN=coop taskset -c 0 /tmp/u/monoio 127.0.0.1:7101 >/dev/null 2>&1 & S=$! ;;
  *) taskset -c 0 $B echo --model $K --listen 127.0.0.1:7101 >/dev/null 2>&1 & S=$! ;;
esac
sleep 0.5; nstat -n >/dev/null
taskset -c 1 $B load echo --target 127.0.0.1:7101 -c ${CONNS:-1000} --size ${SIZE:-64} -d 6 --json > /tmp/u/segs-$K.json 2>/dev/null
nstat > /tmp/u/segs-$K.nstat
kill -TERM $S; wait $S 2>/dev/null
R=$(python3 -c "import json;print(json.load(open('/tmp/u/segs-$K.json'))['requests'])")
echo "$K requests $R"
awk -v r=$R '$1 ~ /TcpOutSegs|TcpInSegs|DelayedACK|PureAck|TCPHPAcks|Quickack|TCPAutoCorking|TcpExtTCPHPHits|TCPBacklog|TCPOFOQueue|TCPRcvCoalesce|TCPAckCompressed/ {printf "  %-28s %12d %8.3f/req\n", $1, $2, $2/r}' /tmp/u/segs-$K.nstat
