"""Memory per idle connection, the lab's method: the server's resident anonymous memory
(RssAnon: not the executable's pages, which are shared and paged in as code first runs) with
one connection open, then with N connections more that each did one round trip;
(RSS_N - RSS_0) / N. Models alternate per round.
Usage: idle_mem.py BINARY N ROUNDS MODEL... ; also dumps the largest smaps deltas per model."""
import socket, subprocess, sys, time, resource, statistics
resource.setrlimit(resource.RLIMIT_NOFILE, (20000, 20000))
binary, n, rounds, models = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4:]

def rss(pid):
    for l in open(f"/proc/{pid}/status"):
        if l.startswith("RssAnon"): return int(l.split()[1])

def smaps(pid):
    out, cur = {}, None
    for l in open(f"/proc/{pid}/smaps"):
        f = l.split()
        if len(f) >= 5 and "-" in f[0] and not l.startswith(("Rss", "Size")) and f[0][0] in "0123456789abcdef" and ":" not in f[0]:
            cur = (f[5] if len(f) > 5 else "[anon]") + " " + f[0]
        elif l.startswith("Rss:"):
            out[cur] = int(f[1])
    return out

res = {m: [] for m in models}
for r in range(rounds):
    for m in models:
        p = subprocess.Popen([binary, "echo", "--model", m, "--listen", "127.0.0.1:0"],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        addr = p.stdout.readline().strip(); h, port = addr.rsplit(":", 1)
        warm = socket.create_connection((h, int(port)), timeout=10)
        warm.sendall(b"I"); assert warm.recv(1) == b"I"
        base, s0 = rss(p.pid), smaps(p.pid)
        conns = []
        while len(conns) < n:
            batch = [socket.create_connection((h, int(port)), timeout=10) for _ in range(min(100, n - len(conns)))]
            for s in batch: s.sendall(b"I")
            for s in batch: assert s.recv(1) == b"I"
            conns += batch
        time.sleep(0.3)
        full, s1 = rss(p.pid), smaps(p.pid)
        per = (full - base) * 1024 / n
        res[m].append(per)
        print(f"round {r} {m}: base {base} KiB, at {n}: {full} KiB, {per:.0f} B/conn", flush=True)
        if r == 0:
            d = sorted(((s1.get(k, 0) - s0.get(k, 0), k) for k in s1), reverse=True)[:6]
            for kib, k in d: print(f"    +{kib} KiB {k}")
        for s in conns + [warm]: s.close()
        p.send_signal(2); p.wait(timeout=20)
for m in models:
    v = res[m]
    print(f"{m}: median {statistics.median(v):.0f} B/conn [{min(v):.0f}-{max(v):.0f}] over {len(v)} rounds")
