#!/usr/bin/env python3
"""Two echo servers side by side, each driven by its own `c10k load echo`: server CPU per
request of B ÷ A, per run, with the lab's method (crates/cli/LAB.md, "Side by side").

Both servers are pinned to CPU 0 and both load generators to CPU 1; they start together (which
one first alternates), so drift on the shared machine hits both alike and cancels in the ratio.
CPU time is the sum of the server threads' schedstat nanoseconds, read before the loads start
and as soon as each load exits. Prints one line per run and the median [min-max] at the end.

  bench/green-pair.py --a "BIN echo --model epoll" --b "BIN echo --model green" \
      --conns 1000 --size 64 --secs 3 --runs 7

Every process it starts is stopped by PID before it exits; each run is bounded by --secs.
"""
import argparse, os, re, signal, socket, statistics, subprocess, sys, time


def cpu_ns(pid):
    total = 0
    for t in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{t}/schedstat") as f:
                total += int(f.read().split()[0])
        except (FileNotFoundError, ProcessLookupError):
            pass
    return total


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_listening(port, proc, limit=10.0):
    end = time.time() + limit
    while time.time() < end:
        if proc.poll() is not None:
            raise SystemExit(f"server exited: {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"server on {port} did not listen within {limit} s")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--a", required=True, help="reference server command (without --listen)")
    p.add_argument("--b", required=True, help="measured server command (without --listen)")
    p.add_argument("--load", default=None, help="c10k binary for the load (default: first word of --a)")
    p.add_argument("--conns", type=int, default=1000)
    p.add_argument("--size", type=int, default=64)
    p.add_argument("--secs", type=float, default=3.0)
    p.add_argument("--runs", type=int, default=5)
    args = p.parse_args()
    load_bin = args.load or args.a.split()[0]
    ratios, rates = [], []
    for run in range(args.runs):
        servers = []
        try:
            for cmd in (args.a, args.b):
                port = free_port()
                proc = subprocess.Popen(
                    ["taskset", "-c", "0"] + cmd.split() + ["--listen", f"127.0.0.1:{port}"],
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                servers.append((proc, port))
            for proc, port in servers:
                wait_listening(port, proc)
            order = [0, 1] if run % 2 == 0 else [1, 0]
            before = [cpu_ns(s[0].pid) for s in servers]
            loads = [None, None]
            for i in order:
                loads[i] = subprocess.Popen(
                    ["taskset", "-c", "1", load_bin, "load", "echo", "--target",
                     f"127.0.0.1:{servers[i][1]}", "-c", str(args.conns), "-d", str(args.secs),
                     "--size", str(args.size)],
                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            after = [None, None]
            outs = [None, None]
            pending = {0, 1}
            deadline = time.time() + args.secs + 60
            while pending and time.time() < deadline:
                for i in list(pending):
                    if loads[i].poll() is not None:
                        after[i] = cpu_ns(servers[i][0].pid)
                        outs[i] = loads[i].stdout.read()
                        pending.discard(i)
                time.sleep(0.002)
            for i in pending:
                loads[i].kill()
                loads[i].wait()
            if pending:
                raise SystemExit("a load generator did not finish in time")
            reqs = []
            for out in outs:
                m = re.search(r"requests\s+(\d+)", out)
                if not m:
                    raise SystemExit(f"no request count in load output:\n{out}")
                reqs.append(int(m.group(1)))
            per = [(after[i] - before[i]) / reqs[i] for i in (0, 1)]
            ratio = per[1] / per[0]
            ratios.append(ratio)
            rates.append(reqs[1] / reqs[0])
            print(f"run {run + 1}: A {per[0]:.0f} ns/req ({reqs[0]} req), "
                  f"B {per[1]:.0f} ns/req ({reqs[1]} req), B/A CPU/req {ratio:.3f}", flush=True)
        finally:
            for proc, _ in servers:
                if proc.poll() is None:
                    proc.send_signal(signal.SIGINT)
            for proc, _ in servers:
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
    print(f"B/A CPU per request: median {statistics.median(ratios):.3f} "
          f"[{min(ratios):.3f}-{max(ratios):.3f}] over {len(ratios)} paired runs; "
          f"B/A requests: median {statistics.median(rates):.3f}")


if __name__ == "__main__":
    main()
