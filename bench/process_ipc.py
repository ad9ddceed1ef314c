#!/usr/bin/env python3
"""The reference for `cargo bench -p c10k-process --bench ipc`: Python's multiprocessing
measured the way the Rust bench measures c10k-process, on the same machine, in the same
run (the Rust bench starts this script and prints the ratios).

Prints one JSON object:
  queue_msgs_per_s     multiprocessing.Queue, one producer process, the parent consuming,
                       64-byte bytes messages, timed from the producer's start signal to
                       the last message received
  pipe_rtt_p50_us,     multiprocessing.Pipe round trips of a 64-byte message to an echo
  pipe_rtt_p99_us      child
  spawn_join_ms        {method: median ms of Process(target=trivial).start(); join()}
                       for the spawn, forkserver and fork start methods
  lock_ns              uncontended multiprocessing.Lock acquire + release, ns

Usage: process_ipc.py [--quick]
"""
import json
import multiprocessing as mp
import statistics
import sys
import time

QUICK = "--quick" in sys.argv
MSG = b"x" * 64


def producer(q, go, n):
    go.wait()
    for _ in range(n):
        q.put(MSG)
    q.put(None)


def bench_queue(n):
    q = mp.Queue()
    go = mp.Event()
    p = mp.Process(target=producer, args=(q, go, n))
    p.start()
    t0 = time.perf_counter()
    go.set()
    got = 0
    while q.get() is not None:
        got += 1
    dt = time.perf_counter() - t0
    p.join()
    assert got == n
    return n / dt


def echo(conn):
    while True:
        m = conn.recv()
        if m is None:
            return
        conn.send(m)


def bench_pipe(n):
    a, b = mp.Pipe()
    p = mp.Process(target=echo, args=(b,))
    p.start()
    for _ in range(100):  # warm up
        a.send(MSG)
        a.recv()
    lat = []
    for _ in range(n):
        t0 = time.perf_counter_ns()
        a.send(MSG)
        a.recv()
        lat.append(time.perf_counter_ns() - t0)
    a.send(None)
    p.join()
    lat.sort()
    return lat[len(lat) // 2] / 1000, lat[len(lat) * 99 // 100] / 1000


def trivial():
    pass


def bench_spawn(method, n):
    ctx = mp.get_context(method)
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        p = ctx.Process(target=trivial)
        p.start()
        p.join()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000


def bench_lock(n):
    lock = mp.Lock()
    t0 = time.perf_counter_ns()
    for _ in range(n):
        lock.acquire()
        lock.release()
    return (time.perf_counter_ns() - t0) / n


def main():
    mp.set_start_method("fork")  # the workers of the queue and pipe benches
    out = {}
    queue_n = 50_000 if QUICK else 200_000
    out["queue_msgs_per_s"] = statistics.median(bench_queue(queue_n) for _ in range(3))
    p50, p99 = bench_pipe(2_000 if QUICK else 20_000)
    out["pipe_rtt_p50_us"] = p50
    out["pipe_rtt_p99_us"] = p99
    spawn_n = 5 if QUICK else 20
    out["spawn_join_ms"] = {m: bench_spawn(m, spawn_n) for m in ("spawn", "forkserver", "fork")}
    out["lock_ns"] = bench_lock(200_000 if QUICK else 2_000_000)
    out["python"] = sys.version.split()[0]
    print(json.dumps(out))


if __name__ == "__main__":
    main()
