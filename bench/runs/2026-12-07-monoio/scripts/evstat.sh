#!/bin/bash
BIN=$1; OUT=$2; mkdir -p $OUT
taskset -c 0 $BIN echo --model ${MODEL:-uring} --listen 127.0.0.1:7101 > $OUT/u.log 2>&1 & U=$!
taskset -c 0 $BIN __tokio-echo --listen 127.0.0.1:7102 > $OUT/t.log 2>&1 & T=$!
sleep 0.5
taskset -c 1 $BIN load echo --target 127.0.0.1:7101 -c ${CONNS:-1000} --size ${SIZE:-64} -d ${DUR:-6} --json > $OUT/lu.json 2>$OUT/lu.err & LU=$!
taskset -c 1 $BIN load echo --target 127.0.0.1:7102 -c ${CONNS:-1000} --size ${SIZE:-64} -d ${DUR:-6} --json > $OUT/lt.json 2>$OUT/lt.err & LT=$!
sleep 1
E=sock:sock_recv_length,sock:sock_send_length,tcp:tcp_rcv_space_adjust,io_uring:io_uring_task_work_run,io_uring:io_uring_local_work_run,io_uring:io_uring_complete,io_uring:io_uring_poll_arm,io_uring:io_uring_submit_req,syscalls:sys_enter_recvfrom,syscalls:sys_enter_sendto,syscalls:sys_enter_epoll_wait,sock:sk_data_ready
perf stat -e $E -p $U -o $OUT/u.stat -- sleep 3 &
perf stat -e $E -p $T -o $OUT/t.stat -- sleep 3 &
perf record -e sock:sock_recv_length -p $U -o $OUT/ru.data -- sleep 1 >/dev/null 2>&1 &
perf record -e sock:sock_recv_length -p $T -o $OUT/rt.data -- sleep 1 >/dev/null 2>&1 &
wait $LU $LT
kill -INT $U $T; wait $U $T 2>/dev/null
paste <(grep -E '^ +[0-9]' $OUT/u.stat | awk '{print $1, $2}') <(grep -E '^ +[0-9]' $OUT/t.stat | awk '{print $1}')
for f in ru rt; do echo "== $f ret distribution"; perf script -i $OUT/$f.data 2>/dev/null | grep -o 'ret=[-0-9]*' | sort | uniq -c | sort -rn | head -5; done
