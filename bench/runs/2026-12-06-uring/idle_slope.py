import socket, subprocess, sys, time, resource
resource.setrlimit(resource.RLIMIT_NOFILE, (20000, 20000))
model = sys.argv[1]
p = subprocess.Popen(["/work/wt/cli-uring/target/release/c10k", "echo", "--model", model, "--listen", "127.0.0.1:0"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
addr = p.stdout.readline().strip(); h, port = addr.rsplit(":", 1)
def rss():
    for l in open(f"/proc/{p.pid}/status"):
        if l.startswith("VmRSS"): return int(l.split()[1])
conns = []; out = []
base = rss()
for target in (1000, 2000, 5000, 10000):
    while len(conns) < target:
        batch = []
        for _ in range(min(100, target - len(conns))):
            s = socket.create_connection((h, int(port))); batch.append(s)
        for s in batch: s.sendall(b"I")
        for s in batch: assert s.recv(1) == b"I"
        conns += batch
    time.sleep(0.2)
    out.append((target, rss()))
print(model, "base KiB", base, [(n, r, round((r - base) / n * 1024)) for n, r in out])
for i in range(1, len(out)):
    (n0, r0), (n1, r1) = out[i-1], out[i]
    print(f"  slope {n0}->{n1}: {(r1 - r0) * 1024 / (n1 - n0):.0f} B/conn")
p.send_signal(2); p.wait(timeout=10)
