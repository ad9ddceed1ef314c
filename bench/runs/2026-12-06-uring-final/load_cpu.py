"""Client CPU per request of `c10k load echo`: --backend uring against --backend epoll, side
by side. Two identical `c10k echo --model epoll` servers on CPU 0; both load generators on
CPU 1 at the same time (one per server), each under `perf stat -e task-clock`; a run's
figure is (task-clock / requests) of uring ÷ that of epoll. Rounds alternate which
generator starts first. Usage: load_cpu.py BINARY ROUNDS DURATION CONNSxSIZE..."""
import json, subprocess, sys, statistics, time, os
binary, rounds, dur, cells = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4:]

def server():
    p = subprocess.Popen(["taskset", "-c", "0", binary, "echo", "--model", "epoll", "--listen", "127.0.0.1:0"],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    return p, p.stdout.readline().strip()

def gen(addr, backend, conns, size, tag):
    return subprocess.Popen(["perf", "stat", "-x", ",", "-e", "task-clock", "-o", f"/tmp/uring-perf-{tag}.txt",
                             "taskset", "-c", "1", binary, "load", "echo", "--target", addr, "-c", conns, "-d", dur,
                             "--size", size, "--backend", backend, "--json"], stdout=subprocess.PIPE, text=True)

def cpu_ms(tag):
    for l in open(f"/tmp/uring-perf-{tag}.txt"):
        if "task-clock" in l: return float(l.split(",")[0])

servers = [server(), server()]
try:
    for cell in cells:
        conns, size = cell.split("x")
        ratios, rows = [], []
        for r in range(rounds):
            order = ["uring", "epoll"] if r % 2 == 0 else ["epoll", "uring"]
            procs = {b: gen(servers[i][1], b, conns, size, b) for i, b in enumerate(order)}
            out = {b: json.loads(p.communicate(timeout=120)[0]) for b, p in procs.items()}
            per = {}
            for b in order:
                assert sum(out[b]["errors"].values()) == 0 if out[b]["errors"] else True, out[b]["errors"]
                per[b] = cpu_ms(b) * 1000 / out[b]["requests"]
            ratios.append(per["uring"] / per["epoll"])
            rows.append(f"  run {r}: uring {per['uring']:.3f} µs/req ({out['uring']['requests']} req), epoll {per['epoll']:.3f} µs/req ({out['epoll']['requests']} req), ratio {ratios[-1]:.3f}")
        print(f"{conns} x {size} B: uring ÷ epoll client CPU/request median {statistics.median(ratios):.3f} [{min(ratios):.3f}-{max(ratios):.3f}] over {rounds} runs")
        print("\n".join(rows), flush=True)
finally:
    for p, _ in servers:
        p.send_signal(2); p.wait(timeout=20)
