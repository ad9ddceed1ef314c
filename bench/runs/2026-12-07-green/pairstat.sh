#!/bin/bash
TAG=$1; A=$2; B=$3
L=${LOAD:?c10k binary for the loads}
taskset -c 0 $A --listen 127.0.0.1:7201 >/dev/null 2>&1 & PA=$!
taskset -c 0 $B --listen 127.0.0.1:7202 >/dev/null 2>&1 & PB=$!
sleep 0.7
taskset -c 1 $L load echo --target 127.0.0.1:7201 -c 1000 -d 6 --size 64 > /tmp/$TAG-a.load 2>&1 & LA=$!
taskset -c 1 $L load echo --target 127.0.0.1:7202 -c 1000 -d 6 --size 64 > /tmp/$TAG-b.load 2>&1 & LB=$!
sleep 2
EV='raw_syscalls:sys_enter,syscalls:sys_enter_epoll_wait,syscalls:sys_enter_epoll_pwait,syscalls:sys_enter_recvfrom,syscalls:sys_enter_sendto,context-switches,task-clock,page-faults'
perf stat -e $EV -p $PA -o /tmp/$TAG-a.stat -- sleep 3 &
R1=$!
perf stat -e $EV -p $PB -o /tmp/$TAG-b.stat -- sleep 3 &
R2=$!
wait $R1 $R2 $LA $LB
kill -INT $PA $PB; wait $PA $PB
for x in a b; do
  r=$(grep -oP 'requests\s+\d+\s+\K\d+' /tmp/$TAG-$x.load)
  echo "== $x rate $r req/s"
  grep -E "^\s+[0-9]" /tmp/$TAG-$x.stat | awk -v r=$r '{gsub(",","",$1); printf "  %-40s %12s  per req %.4f\n", $2, $1, $1/(r*3)}'
done
