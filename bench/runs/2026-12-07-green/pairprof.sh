#!/bin/bash
# usage: pairprof.sh TAG "cmdA" "cmdB"  -> perf data for each server while both run side by side
TAG=$1; A=$2; B=$3
L=${LOAD:?c10k binary for the loads}
taskset -c 0 $A --listen 127.0.0.1:7201 >/dev/null 2>&1 & PA=$!
taskset -c 0 $B --listen 127.0.0.1:7202 >/dev/null 2>&1 & PB=$!
sleep 0.7
taskset -c 1 $L load echo --target 127.0.0.1:7201 -c 1000 -d 8 --size 64 > /tmp/$TAG-a.load 2>&1 & LA=$!
taskset -c 1 $L load echo --target 127.0.0.1:7202 -c 1000 -d 8 --size 64 > /tmp/$TAG-b.load 2>&1 & LB=$!
sleep 2
perf record -e cpu-clock -F 4999 -g -p $PA -o /tmp/$TAG-a.data -- sleep 5 >/dev/null 2>&1 &
R1=$!
perf record -e cpu-clock -F 4999 -g -p $PB -o /tmp/$TAG-b.data -- sleep 5 >/dev/null 2>&1 &
R2=$!
wait $R1 $R2 $LA $LB
kill -INT $PA $PB; wait $PA $PB
for x in a b; do
  r=$(grep -oP 'requests\s+\d+\s+\K\d+' /tmp/$TAG-$x.load)
  n=$(perf report -i /tmp/$TAG-$x.data --no-children -g none --sort dso --stdio 2>/dev/null | grep -m1 "Samples" )
  echo "$x: rate $r req/s; $n"
  perf report -i /tmp/$TAG-$x.data --no-children -g none --sort dso 2>/dev/null | grep -v "^#" | grep -v "^$" | head -2
done
