#!/usr/bin/env python3
"""The fault matrix: hostile clients against every c10k server, bounded in time.

Usage (from the repository root; Python 3.11 standard library only):

    cargo build --release -p c10k-cli
    python3 bench/fault-matrix/fault_matrix.py [--bin target/release/c10k] [--out FILE.md]
                                               [--only SERVER[,SERVER...]]
                                               [--cases CASE[,CASE...]] [--quick]

Servers: `c10k echo --model M` for every model its `--help` lists (except `auto`, an
alias), `c10k chat`, `c10k http`, and `c10k http` serving HTTPS (`https`: a self-signed
certificate made with the `openssl` command, `--handshake-timeout 2`; skipped when either is
missing), each on 127.0.0.1 with a port of its own, started with
a descriptor limit of 1024 (soft and hard, so that a flood goes past it). `http` runs with
`--send-timeout 2` (when its `--help` has the flag) so that a stalled download is seen to be
dropped within the run.

Cases (the attacks of issue 9), each bounded in time and connection count:

    reset          200 connections reset (SO_LINGER 0) mid-request, right after a request,
                   or in the middle of a large answer
    half-close     50 clients send a request and shut down their writing side: the answer
                   must still come (violations: answers lost)
    slowloris      300 connections trickling one byte every 0.5 s for 4 s
    flood          1 500 connections at once, past the server's 1 024 descriptors, held 2 s
    garbage        20 connections sending 256 KiB of random bytes (NULs, no newline)
    slow-reader    clients that stop reading while the server has much to send them
    malformed      (http) 30 malformed requests: each must get a 4xx/5xx or a close
    traversal      (http) 28 probes for a file outside the root (violations: leaks)
    smuggling      (http) 11 request-smuggling patterns hiding a second request
                   (violations: the hidden request was answered)
    pipeline       (http) 20 clients pipelining 1 000 listing requests, never reading
    never-read     (http) 20 clients requesting a 200 MiB file, never reading; after the
                   send timeout the server must have let go of them while they stay connected
    tls-stall      (https) 300 connections that send a TLS record header and then trickle one
                   byte every 0.5 s for 4 s; past the handshake timeout the server must
                   have closed them (violations: connections still open after 6 s)
    tls-never-read (https) 10 TLS clients requesting a 200 MiB file, never reading; after the
                   send timeout the server must have let go of them
    control-chars  (chat) ESC, BEL, NUL and bare CR relayed to another member (violations:
                   forbidden bytes received)
    join-burst     (chat) 400 bare connections at once while 10 members chat (violations:
                   members that missed a message or were disconnected)

`https` runs the cases that make sense below TLS (reset, slowloris, flood, garbage: their
plain-text payloads are garbage to a TLS server, which must close) plus the two above; its
health probe is a TLS GET /plaintext (certificate not verified).

For each case and server it reports:

    crashed     the server process exited
    hung        a health probe after the case got no answer within 5 s (echo: a line echoed;
                chat: the welcome line; http: GET /plaintext)
    denied      health probes *during* the case (one every 0.2 s while the hostile clients
                do their worst) that got no answer within 5 s ("-": not probed: a flood past
                the descriptor limit, where refusing connections is the right answer)
    worst probe ms  the slowest of those probes: a server whose thread stalls shows here
    fds         descriptors the server still holds 10 s after the hostile clients closed,
                over what it held before the case
    RSS MiB     the peak growth of the server's resident memory during the case
    violations  wrong behaviour specific to the case (see above)

At the end each server gets SIGINT and must exit with 0 within 10 s (the `shutdown` row).
The whole run takes about 5 minutes (--quick: about 2). Exit status: 0 when every crashed,
hung, denied, fds and violations cell is zero, 1 otherwise.
"""

import argparse
import os
import random
import re
import resource
import select
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import threading
import time

SERVER_FD_LIMIT = 1024
PROBE_TIMEOUT = 5.0
SETTLE = 10.0
HTTP_SEND_TIMEOUT = 2


# ---------------------------------------------------------------------------------------
# servers


class Server:
    """A c10k server child with its address, descriptor count, RSS and health probe."""

    def __init__(self, name, kind, argv, workdir):
        self.name = name
        self.kind = kind
        self.out_path = os.path.join(workdir, f"{name}.out")
        self.err_path = os.path.join(workdir, f"{name}.err")
        out = open(self.out_path, "wb")
        err = open(self.err_path, "wb")

        def limit():
            resource.setrlimit(resource.RLIMIT_NOFILE, (SERVER_FD_LIMIT, SERVER_FD_LIMIT))

        self.proc = subprocess.Popen(
            argv + ["--listen", "127.0.0.1:0"],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            preexec_fn=limit,
        )
        out.close()
        err.close()
        self.pid = self.proc.pid
        self.addr = None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and self.proc.poll() is None:
            with open(self.out_path, "rb") as f:
                line = f.readline()
            if line.endswith(b"\n"):
                host, port = line.decode().strip().rsplit(":", 1)
                self.addr = (host, int(port))
                break
            time.sleep(0.02)
        if self.addr is None:
            self.kill()
            raise RuntimeError(f"did not start: {self.last_error()}")
        # The address is printed before the event loop has created its descriptors (epoll,
        # eventfd, signalfd): take no baseline before the server answered once.
        while not self.probe():
            if time.monotonic() > deadline or self.proc.poll() is not None:
                self.kill()
                raise RuntimeError(f"never answered: {self.last_error()}")
            time.sleep(0.1)

    def last_error(self):
        try:
            with open(self.err_path, "rb") as f:
                lines = f.read().decode(errors="replace").strip().splitlines()
            return lines[-1] if lines else "no address printed"
        except OSError:
            return "no address printed"

    def alive(self):
        return self.proc.poll() is None

    def fds(self):
        try:
            return len(os.listdir(f"/proc/{self.pid}/fd"))
        except OSError:
            return 0

    def rss_kib(self):
        try:
            with open(f"/proc/{self.pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1])
        except OSError:
            pass
        return 0

    def probe(self, timeout=PROBE_TIMEOUT):
        """True when the server answers a fresh client within `timeout`."""
        deadline = time.monotonic() + timeout
        try:
            with socket.create_connection(self.addr, timeout=timeout) as s:
                if self.kind == "echo":
                    s.sendall(b"PROBE-LINE\n")
                    return recv_until(s, lambda d: d.endswith(b"PROBE-LINE\n"), deadline)
                if self.kind == "chat":
                    return recv_until(s, lambda d: b"\n" in d, deadline)
                if self.kind == "https":
                    s = tls_client().wrap_socket(s, server_hostname="localhost")
                s.sendall(b"GET /plaintext HTTP/1.1\r\nHost: probe\r\n\r\n")
                return recv_until(s, lambda d: d.endswith(b"Hello, World!"), deadline)
        except OSError:
            return False

    def stop(self):
        """SIGINT, then the exit status within 10 s (or None after SIGKILL)."""
        if self.proc.poll() is not None:
            return self.proc.returncode
        self.proc.send_signal(signal.SIGINT)
        try:
            return self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.kill()
            return None

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass


def recv_until(s, done, deadline):
    data = b""
    while time.monotonic() < deadline:
        s.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            return False
        except OSError:
            return False
        if not chunk:
            return done(data)
        data += chunk
        if done(data):
            return True
    return False


def echo_models(binary):
    """The models `c10k echo --help` lists, `auto` excepted."""
    text = subprocess.run([binary, "echo", "--help"], capture_output=True, text=True,
                          timeout=30).stdout
    models, inside = [], False
    for line in text.splitlines():
        if line.strip().startswith("--model"):
            inside = True
        elif inside and re.match(r"^\s+--", line):
            break
        elif inside:
            m = re.match(r"^\s+- ([a-z0-9-]+):", line)
            if m and m.group(1) != "auto":
                models.append(m.group(1))
    return models


# ---------------------------------------------------------------------------------------
# client helpers


def connect(addr, timeout=5.0):
    s = socket.create_connection(addr, timeout=timeout)
    return s


def connect_many(addr, n, deadline):
    """Up to n non-blocking connects, as fast as the kernel takes them."""
    socks = []
    for _ in range(n):
        if time.monotonic() > deadline:
            break
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        try:
            s.connect(addr)
        except BlockingIOError:
            pass
        except OSError:
            s.close()
            continue
        socks.append(s)
    return socks


def reset(s):
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    s.close()


def close_all(socks):
    for s in socks:
        try:
            s.close()
        except OSError:
            pass


def send_quietly(s, data):
    try:
        s.setblocking(False)
        return s.send(data)
    except OSError:
        return 0


def drain(s):
    """Reads what is there without blocking; False once the peer closed."""
    try:
        s.setblocking(False)
        while True:
            chunk = s.recv(1 << 16)
            if not chunk:
                return False
    except BlockingIOError:
        return True
    except OSError:
        return False


def read_all(socks_payloads, timeout, stop=None):
    """Reads every socket until it closes, `stop(data)` holds, or `timeout` passes;
    returns (data per socket, closed flags)."""
    data = [b""] * len(socks_payloads)
    closed = [False] * len(socks_payloads)
    open_ = {s.fileno(): i for i, s in enumerate(socks_payloads)}
    for s in socks_payloads:
        s.setblocking(False)
    deadline = time.monotonic() + timeout
    poller = select.poll()
    for fd in open_:
        poller.register(fd, select.POLLIN)
    while open_ and time.monotonic() < deadline:
        for fd, _ in poller.poll(100):
            i = open_.get(fd)
            if i is None:
                continue
            try:
                chunk = socks_payloads[i].recv(1 << 16)
            except BlockingIOError:
                continue
            except OSError:
                chunk = b""
            if chunk:
                data[i] += chunk
            if not chunk or (stop and stop(data[i])):
                closed[i] = not chunk
                poller.unregister(fd)
                del open_[fd]
    return data, closed


def tls_client():
    """A TLS client context that verifies nothing (the certificate is the run's own)."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def plain(kind):
    """The payload family of a server kind: HTTPS gets HTTP's (garbage below TLS)."""
    return "http" if kind == "https" else kind


def request_for(kind):
    kind = plain(kind)
    return {
        "echo": b"hello, echo\n",
        "chat": b"hello, room\n",
        "http": b"GET /plaintext HTTP/1.1\r\nHost: t\r\n\r\n",
    }[kind]


# ---------------------------------------------------------------------------------------
# the case runner


class Context:
    """Watches the server while a case runs: a sampler thread records the peak RSS, and a
    prober thread (unless the case refuses probes) sends a health probe every 0.2 s,
    recording the slowest answer and the probes that got none within 5 s."""

    def __init__(self, server, probe=True):
        self.server = server
        self.denied = 0 if probe else None
        self.worst_ms = 0.0 if probe else None
        self.peak = server.rss_kib()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._sample, daemon=True)]
        if probe:
            self._threads.append(threading.Thread(target=self._probe, daemon=True))
        for t in self._threads:
            t.start()

    def _sample(self):
        while not self._stop.wait(0.1):
            self.peak = max(self.peak, self.server.rss_kib())

    def _probe(self):
        while not self._stop.wait(0.2):
            t0 = time.monotonic()
            ok = self.server.probe()
            self.worst_ms = max(self.worst_ms, (time.monotonic() - t0) * 1000)
            if not ok:
                self.denied += 1

    def finish(self):
        self._stop.set()
        for t in self._threads:
            t.join()
        self.peak = max(self.peak, self.server.rss_kib())


def run_case(server, case, fn, quick, site):
    row = {"server": server.name, "case": case}
    if not server.alive():
        row.update(crashed="-", hung="-", denied="-", worst="-", fds="-", rss="-", violations="-",
                   note="server already gone")
        return row
    fds0 = server.fds()
    rss0 = server.rss_kib()
    ctx = Context(server, probe=case not in NO_PROBE)
    violations, note = 0, ""
    try:
        violations, note = fn(server, ctx, quick, site)
    except Exception as e:  # a client-side failure is reported, never hidden
        note = f"case error: {type(e).__name__}: {e}"
        violations = 1
    ctx.finish()
    crashed = 0 if server.alive() else 1
    hung = 0
    leaked = 0
    if not crashed:
        hung = 0 if server.probe() else 1
        deadline = time.monotonic() + SETTLE
        while server.fds() > fds0 and time.monotonic() < deadline:
            time.sleep(0.05)
        leaked = max(0, server.fds() - fds0)
    else:
        note = (note + "; " if note else "") + f"exit {server.proc.returncode}: {server.last_error()}"
    row.update(
        crashed=crashed,
        hung=hung,
        denied="-" if ctx.denied is None else ctx.denied,
        worst="-" if ctx.worst_ms is None else f"{ctx.worst_ms:.0f}",
        fds=leaked,
        rss=f"{max(0, ctx.peak - rss0) / 1024:.1f}",
        violations=violations,
        note=note,
    )
    return row


# ---------------------------------------------------------------------------------------
# cases common to every server


def case_reset(server, ctx, quick, site):
    n = 100 if quick else 200
    big = {
        "echo": b"x" * 65536,
        "chat": b"",
        "http": b"GET /huge.bin HTTP/1.1\r\nHost: t\r\n\r\n",
    }[plain(server.kind)]
    partial = {
        "echo": b"y" * 1000,
        "chat": b"a partial line without its end",
        "http": b"GET /hello.txt HTTP/1.1\r\nHo",
    }[plain(server.kind)]
    for i in range(n):
        try:
            s = connect(server.addr)
        except OSError:
            continue
        payload = (partial, request_for(server.kind), big)[i % 3]
        if payload:
            send_quietly(s, payload)
        if i % 3 == 2:
            time.sleep(0.002)  # let the server start answering, then vanish
        reset(s)
    return 0, f"{n} resets"


def case_half_close(server, ctx, quick, site):
    n = 25 if quick else 50
    socks = []
    for _ in range(n):
        try:
            s = connect(server.addr)
            s.sendall(request_for(server.kind))
            s.shutdown(socket.SHUT_WR)
            socks.append(s)
        except OSError:
            pass
    want = {
        "echo": lambda d: request_for("echo") in d,
        "chat": lambda d: b"\n" in d,
        "http": lambda d: b"Hello, World!" in d,
    }[server.kind]
    data, closed = read_all(socks, 5.0)
    close_all(socks)
    lost = sum(1 for d in data if not want(d))
    still_open = sum(1 for c in closed if not c)
    return lost, f"{len(socks)} clients; {still_open} not closed by the server within 5 s"


def case_slowloris(server, ctx, quick, site):
    n, secs = (150, 3.0) if quick else (300, 4.0)
    first = {
        "echo": b"s",
        "chat": b"slow",
        "http": b"GET / HTTP/1.1\r\nHost: t\r\nX-Slow: ",
    }[plain(server.kind)]
    socks = connect_many(server.addr, n, time.monotonic() + 5)
    time.sleep(0.2)
    for s in socks:
        send_quietly(s, first)
    stop = threading.Event()
    cut = [0]

    def trickle():
        while not stop.wait(0.5):
            for s in socks:
                if send_quietly(s, b"a") == 0:
                    cut[0] += 1
                if server.kind == "echo":
                    drain(s)

    t = threading.Thread(target=trickle, daemon=True)
    t.start()
    time.sleep(secs / 2)
    time.sleep(secs / 2)
    stop.set()
    t.join()
    close_all(socks)
    return 0, f"{len(socks)} connections"


def case_flood(server, ctx, quick, site):
    n = 1500
    socks = connect_many(server.addr, n, time.monotonic() + 10)
    time.sleep(0.5)
    for s in socks:
        send_quietly(s, request_for(server.kind))
    time.sleep(1.0 if quick else 2.0)
    close_all(socks)
    return 0, f"{len(socks)} connections, server limit {SERVER_FD_LIMIT} descriptors"


def case_garbage(server, ctx, quick, site):
    n = 10 if quick else 20
    rng = random.Random(9)
    blob = bytes(rng.randrange(256) for _ in range(256 * 1024)).replace(b"\n", b"\0")
    socks = []
    for _ in range(n):
        try:
            socks.append(connect(server.addr))
        except OSError:
            pass
    deadline = time.monotonic() + 3.0
    sent = [0] * len(socks)
    while time.monotonic() < deadline and any(x < len(blob) for x in sent):
        for i, s in enumerate(socks):
            if sent[i] < len(blob):
                sent[i] += send_quietly(s, blob[sent[i]:sent[i] + 65536]) or 0
            drain(s)
        time.sleep(0.01)
    close_all(socks)
    return 0, f"{len(socks)} clients, {sum(sent) // 1024} KiB sent"


def case_slow_reader(server, ctx, quick, site):
    if server.kind == "echo":
        socks = []
        for _ in range(10):
            try:
                socks.append(connect(server.addr))
            except OSError:
                pass
        chunk = b"z" * 65536
        deadline = time.monotonic() + 3.0
        sent = 0
        while time.monotonic() < deadline:
            for s in socks:
                sent += send_quietly(s, chunk) or 0
            time.sleep(0.01)
        close_all(socks)
        return 0, f"{len(socks)} clients wrote {sent >> 20} MiB without reading"
    if server.kind == "chat":
        reader = connect(server.addr)
        writers = []
        for _ in range(10):
            try:
                writers.append(connect(server.addr))
            except OSError:
                pass
        line = b"x" * 200 + b"\n"
        for _ in range(35):
            for w in writers:
                send_quietly(w, line)
        time.sleep(1.0)
        kicked = not drain(reader)
        close_all(writers + [reader])
        return 0, f"reader that never reads {'disconnected' if kicked else 'kept'}; " \
                  f"{len(writers)} writers x 35 lines"
    socks = []
    for _ in range(10):
        try:
            s = connect(server.addr)
            s.sendall(b"GET /huge.bin HTTP/1.1\r\nHost: t\r\n\r\n")
            socks.append(s)
        except OSError:
            pass
    deadline = time.monotonic() + 3.0
    got = 0
    while time.monotonic() < deadline:
        for s in socks:
            try:
                s.setblocking(False)
                got += len(s.recv(4096))
            except OSError:
                pass
        time.sleep(0.2)
    close_all(socks)
    return 0, f"{len(socks)} downloads read at 20 KiB/s"


# ---------------------------------------------------------------------------------------
# http cases

MALFORMED = [
    b"\x00\x01\x02\x03\r\n\r\n",
    b"GET\r\n\r\n",
    b"GET / HTTP/1.1\r\n\r\n",
    b"GET / HTTP/9.9\r\nHost: t\r\n\r\n",
    b"GET / FTP/1.1\r\nHost: t\r\n\r\n",
    b"GET / HTTP/1.1 extra\r\nHost: t\r\n\r\n",
    b"GET / HTTP/1.1\r\r\nHost: t\r\n\r\n",
    b"G\x7fT / HTTP/1.1\r\nHost: t\r\n\r\n",
    b"GET http://evil.invalid/ HTTP/1.1\r\nHost: t\r\n\r\n",
    b"GET * HTTP/1.1\r\nHost: t\r\n\r\n",
    b"GET /%zz HTTP/1.1\r\nHost: t\r\n\r\n",
    b"GET /%00 HTTP/1.1\r\nHost: t\r\n\r\n",
    b"GET /a\x00b HTTP/1.1\r\nHost: t\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: t\r\nContent-Length: abc\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: t\r\nContent-Length: -1\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: t\r\nContent-Length: +1\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: t\r\nContent-Length: 0x10\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: t\r\nContent-Length: 1 2\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: t\r\nContent-Length: 99999999999999999999\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: t\r\nBad Header: x\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: t\r\n: empty-name\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: t\r\nX-\xff: y\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: t\r\nHost: u\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: t\r\nX: " + b"a" * 10000 + b"\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: t\r\n" + b"".join(b"X-%d: v\r\n" % i for i in range(100)) + b"\r\n",
    b"GET /" + b"u" * 10000 + b" HTTP/1.1\r\nHost: t\r\n\r\n",
    b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 100000000\r\n\r\n",
    b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(range(32)) + b"\r\n\r\n",
    b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
]

TRAVERSAL = [
    "/../secret.txt", "/../../secret.txt", "/%2e%2e/secret.txt", "/%2E%2E/secret.txt",
    "/%2e%2e%2fsecret.txt", "/..%2fsecret.txt", "/..%2Fsecret.txt", "/%252e%252e/secret.txt",
    "/docs/../../secret.txt", "/docs/%2e%2e/%2e%2e/secret.txt", "/./../secret.txt",
    "/..\\secret.txt", "/..%5csecret.txt", "/%c0%ae%c0%ae/secret.txt",
    "/%c0%ae%c0%ae%c0%afsecret.txt", "/..;/secret.txt", "//../secret.txt",
    "/escape", "/escape/", "/docs/escape-dir/secret.txt", "/../../../../../../etc/passwd",
    "/%2e%2e/%2e%2e/%2e%2e/etc/passwd", "//etc/passwd", "/etc/passwd",
    "/hello.txt%00../../secret.txt", "/..%00/secret.txt", "/.%2e/secret.txt",
    "/docs/..%252f..%252fsecret.txt",
]

SMUGGLE_HIDDEN = b"GET /smuggled.txt HTTP/1.1\r\nHost: t\r\n\r\n"


def smuggling_patterns():
    h = SMUGGLE_HIDDEN
    chunk_end = b"0\r\n\r\n"
    return [
        # CL.TE and TE.CL
        b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\nTransfer-Encoding: chunked\r\n\r\n"
        % len(chunk_end + h) + chunk_end + h,
        b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n"
        + chunk_end + h,
        # TE alone: a body the server cannot delimit
        b"GET / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n" + chunk_end + h,
        b"GET / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: xchunked\r\n\r\n" + chunk_end + h,
        b"GET / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked, identity\r\n\r\n" + chunk_end + h,
        b"GET / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding:\r\n chunked\r\n\r\n" + chunk_end + h,
        b"GET / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding : chunked\r\n\r\n" + chunk_end + h,
        # two lengths
        b"GET / HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\nContent-Length: %d\r\n\r\n" % len(h) + h,
        # a body that holds a request: skipped, never answered
        b"GET / HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n\r\n" % len(h) + h,
        # a refused method with a body (Expect: 100-continue): the body is not a request
        b"PUT / HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: %d\r\n\r\n" % len(h) + h,
        # chunk size overflow
        b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFFFFFF\r\n" + h,
    ]


def many_at_once(server, payloads, timeout):
    socks = []
    for p in payloads:
        try:
            s = connect(server.addr)
            s.sendall(p)
            socks.append(s)
        except OSError:
            socks.append(None)
    live = [s for s in socks if s is not None]
    data, closed = read_all(live, timeout)
    close_all(live)
    it = iter(zip(data, closed))
    return [next(it) if s is not None else (b"", True) for s in socks]


def status_of(data):
    m = re.match(rb"HTTP/1\.[01] (\d{3}) ", data)
    return int(m.group(1)) if m else None


def case_malformed(server, ctx, quick, site):
    results = many_at_once(server, MALFORMED, 5.0)
    bad = []
    for i, (data, closed) in enumerate(results):
        status = status_of(data)
        if status is not None and status < 400:
            bad.append(f"#{i} got {status}")
        elif status is None and not closed:
            bad.append(f"#{i} no answer")
    return len(bad), f"{len(MALFORMED)} requests" + (": " + ", ".join(bad) if bad else "")


def case_traversal(server, ctx, quick, site):
    payloads = [f"GET {t} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n".encode("latin-1")
                for t in TRAVERSAL]
    results = many_at_once(server, payloads, 5.0)
    leaks = [TRAVERSAL[i] for i, (d, _) in enumerate(results)
             if b"TOP-SECRET-MARKER" in d or b"root:x:0:0" in d]
    return len(leaks), f"{len(TRAVERSAL)} probes" + (": leaked " + " ".join(leaks) if leaks else "")


def case_smuggling(server, ctx, quick, site):
    patterns = smuggling_patterns()
    results = many_at_once(server, patterns, 3.0)
    hits = [i for i, (d, _) in enumerate(results) if b"SMUGGLED-MARKER" in d]
    return len(hits), f"{len(patterns)} patterns" + (f": answered #{hits}" if hits else "")


def case_pipeline(server, ctx, quick, site):
    n, per = (10, 1000) if quick else (20, 1000)
    req = b"GET /many/ HTTP/1.1\r\nHost: t\r\n\r\n"
    socks = []
    for _ in range(n):
        try:
            s = connect(server.addr)
            s.setblocking(False)
            sent = 0
            batch = req * per
            deadline = time.monotonic() + 2
            while sent < len(batch) and time.monotonic() < deadline:
                try:
                    sent += s.send(batch[sent:])
                except BlockingIOError:
                    time.sleep(0.01)
            socks.append(s)
        except OSError:
            pass
    time.sleep(2.0)
    time.sleep(1.0 if quick else 2.0)
    close_all(socks)
    return 0, f"{len(socks)} clients x {per} listings of 2 000 entries, never read"


def case_never_read(server, ctx, quick, site):
    n = 20
    before = server.fds()
    socks = []
    for _ in range(n):
        try:
            s = connect(server.addr)
            s.sendall(b"GET /huge.bin HTTP/1.1\r\nHost: t\r\n\r\n")
            socks.append(s)
        except OSError:
            pass
    time.sleep(1.0)
    # Past the send timeout, with the clients still connected and still not reading, the
    # server must hold neither their sockets nor their files.
    start = time.monotonic()
    deadline = start + HTTP_SEND_TIMEOUT + 8
    held = server.fds() - before
    while held > 0 and time.monotonic() < deadline:
        time.sleep(0.1)
        held = server.fds() - before
    waited = time.monotonic() - start + 1.0
    close_all(socks)
    if held > 0:
        return 1, f"{len(socks)} stalled downloads of 200 MiB; {held} descriptors still " \
                  f"held after {waited:.0f} s"
    return 0, f"{len(socks)} stalled downloads of 200 MiB; all let go after {waited:.1f} s"


# ---------------------------------------------------------------------------------------
# https cases


def case_tls_stall(server, ctx, quick, site):
    n, secs = (150, 3.0) if quick else (300, 4.0)
    socks = connect_many(server.addr, n, time.monotonic() + 5)
    for s in socks:
        # A handshake record header announcing 512 bytes, which never all come.
        send_quietly(s, b"\x16\x03\x01\x02\x00")
    stop = threading.Event()

    def trickle():
        while not stop.wait(0.5):
            for s in socks:
                send_quietly(s, b"\x01")

    t = threading.Thread(target=trickle, daemon=True)
    t.start()
    time.sleep(secs)
    stop.set()
    t.join()
    # The handshake timeout is 2 s: by now (4 s, plus 2 s of slack) every one was closed.
    data, closed = read_all(socks, 2.0)
    close_all(socks)
    still_open = sum(1 for c in closed if not c)
    return still_open, f"{len(socks)} stalled handshakes; {still_open} still open after {secs + 2:.0f} s"


def case_tls_never_read(server, ctx, quick, site):
    n = 10
    before = server.fds()
    socks = []
    for _ in range(n):
        try:
            s = tls_client().wrap_socket(connect(server.addr), server_hostname="localhost")
            s.sendall(b"GET /huge.bin HTTP/1.1\r\nHost: t\r\n\r\n")
            socks.append(s)
        except OSError:
            pass
    time.sleep(1.0)
    start = time.monotonic()
    deadline = start + HTTP_SEND_TIMEOUT + 8
    held = server.fds() - before
    while held > 0 and time.monotonic() < deadline:
        time.sleep(0.1)
        held = server.fds() - before
    waited = time.monotonic() - start + 1.0
    close_all(socks)
    if held > 0:
        return 1, f"{len(socks)} stalled TLS downloads of 200 MiB; {held} descriptors still " \
                  f"held after {waited:.0f} s"
    return 0, f"{len(socks)} stalled TLS downloads of 200 MiB; all let go after {waited:.1f} s"


# ---------------------------------------------------------------------------------------
# chat cases


def chat_member(addr):
    s = connect(addr)
    if not recv_until(s, lambda d: b"\n" in d, time.monotonic() + PROBE_TIMEOUT):
        raise OSError("no welcome line")
    return s


def case_control_chars(server, ctx, quick, site):
    a = chat_member(server.addr)
    b = chat_member(server.addr)
    time.sleep(0.3)
    drain(b)
    lines = [b"bell \x07 here\n", b"esc \x1b[2J\x1b[1;1H clear\n", b"nul \x00 byte\n",
             b"cr \rforged 12:00:00 <admin> hi\n", b"del \x7f and tab \t ok\n"]
    for line in lines:
        a.sendall(line)
    data, _ = read_all([b], 2.0, stop=lambda d: d.count(b"\n") >= len(lines))
    got = data[0]
    bad = sum(got.count(c) for c in (b"\x07", b"\x1b", b"\x00"))
    bad += len(re.findall(rb"\r(?!\n)", got))
    close_all([a, b])
    relayed = got.count(b"\n")
    return bad, f"{relayed} lines relayed; forbidden bytes received: {bad}"


def case_join_burst(server, ctx, quick, site):
    members = [chat_member(server.addr) for _ in range(10)]
    time.sleep(0.3)
    for m in members:
        drain(m)
    burst = connect_many(server.addr, 200 if quick else 400, time.monotonic() + 10)
    time.sleep(1.0)
    alive = [m for m in members if drain(m)]
    kicked = len(members) - len(alive)
    missed = 0
    if alive:
        speaker, listeners = alive[0], alive[1:]
        speaker.setblocking(True)
        try:
            speaker.sendall(b"ping after the burst\n")
        except OSError:
            pass
        data, _ = read_all(listeners, 5.0, stop=lambda d: b"ping after the burst" in d)
        missed = sum(1 for d in data if b"ping after the burst" not in d)
    close_all(burst + members)
    return kicked + missed, f"{len(burst)} bare connects: {kicked} of 10 members " \
                            f"disconnected, {missed} missed a message"


# ---------------------------------------------------------------------------------------

# Cases during which the server is not probed: a flood past its descriptor limit is meant
# to make it refuse connections for a while.
NO_PROBE = {"flood"}

COMMON = [
    ("reset", case_reset),
    ("half-close", case_half_close),
    ("slowloris", case_slowloris),
    ("flood", case_flood),
    ("garbage", case_garbage),
    ("slow-reader", case_slow_reader),
]
HTTP = [
    ("malformed", case_malformed),
    ("traversal", case_traversal),
    ("smuggling", case_smuggling),
    ("pipeline", case_pipeline),
    ("never-read", case_never_read),
]
HTTPS = [
    ("reset", case_reset),
    ("slowloris", case_slowloris),
    ("flood", case_flood),
    ("garbage", case_garbage),
    ("tls-stall", case_tls_stall),
    ("tls-never-read", case_tls_never_read),
]
CHAT = [
    ("control-chars", case_control_chars),
    ("join-burst", case_join_burst),
]


def make_site(workdir):
    base = os.path.join(workdir, "site")
    root = os.path.join(base, "root")
    os.makedirs(os.path.join(root, "docs"))
    os.makedirs(os.path.join(root, "many"))
    with open(os.path.join(base, "secret.txt"), "w") as f:
        f.write("TOP-SECRET-MARKER\n")
    os.makedirs(os.path.join(base, "outside"))
    with open(os.path.join(base, "outside", "secret.txt"), "w") as f:
        f.write("TOP-SECRET-MARKER\n")
    with open(os.path.join(root, "hello.txt"), "w") as f:
        f.write("hello\n")
    with open(os.path.join(root, "smuggled.txt"), "w") as f:
        f.write("SMUGGLED-MARKER\n")
    with open(os.path.join(root, "index.html"), "w") as f:
        f.write("<h1>home</h1>\n")
    with open(os.path.join(root, "huge.bin"), "wb") as f:
        f.truncate(200 << 20)  # sparse
    for i in range(2000):
        open(os.path.join(root, "many", f"a-file-with-a-rather-long-name-{i:05}.txt"), "w").close()
    os.symlink(os.path.join(base, "secret.txt"), os.path.join(root, "escape"))
    os.symlink(os.path.join(base, "outside"), os.path.join(root, "docs", "escape-dir"))
    return root


def table(rows):
    cols = ["server", "case", "crashed", "hung", "denied", "worst probe ms", "fds", "RSS MiB",
            "violations", "note"]
    keys = ["server", "case", "crashed", "hung", "denied", "worst", "fds", "rss", "violations",
            "note"]
    out = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    for r in rows:
        out.append("| " + " | ".join(str(r.get(k, "")).replace("|", "\\|") for k in keys) + " |")
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", default="target/release/c10k")
    ap.add_argument("--out", help="also write the Markdown table here")
    ap.add_argument("--only", help="comma-separated servers (echo-MODEL, chat, http, https)")
    ap.add_argument("--cases", help="comma-separated cases (default: all that apply)")
    ap.add_argument("--quick", action="store_true", help="fewer and shorter attacks")
    args = ap.parse_args()
    binary = os.path.abspath(args.bin)
    if not os.access(binary, os.X_OK):
        sys.exit(f"fault_matrix: no binary at {binary} (cargo build --release -p c10k-cli)")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    started = time.monotonic()
    workdir = tempfile.mkdtemp(prefix="c10k-fault-matrix-")
    site = make_site(workdir)
    servers = [(f"echo-{m}", "echo", ["echo", "--model", m]) for m in echo_models(binary)]
    servers.append(("chat", "chat", ["chat"]))
    http_argv = ["http", "--root", site]
    if "--send-timeout" in subprocess.run([binary, "http", "--help"], capture_output=True,
                                          text=True, timeout=30).stdout:
        http_argv += ["--send-timeout", str(HTTP_SEND_TIMEOUT)]
    servers.append(("http", "http", http_argv))
    http_help = subprocess.run([binary, "http", "--help"], capture_output=True, text=True,
                               timeout=30).stdout
    if "--tls-cert" in http_help and shutil.which("openssl"):
        cert, key = os.path.join(workdir, "cert.pem"), os.path.join(workdir, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", cert,
                        "-days", "1", "-subj", "/CN=localhost"],
                       check=True, capture_output=True, timeout=60)
        servers.append(("https", "https", http_argv + ["--tls-cert", cert, "--tls-key", key,
                                                        "--handshake-timeout", "2"]))
    if args.only:
        wanted = set(args.only.split(","))
        servers = [s for s in servers if s[0] in wanted]
    rows = []
    try:
        for name, kind, argv in servers:
            t0 = time.monotonic()
            try:
                server = Server(name, kind, [binary] + argv, workdir)
            except RuntimeError as e:
                rows.append({"server": name, "case": "start", "crashed": "-", "hung": "-",
                             "denied": "-", "worst": "-", "fds": "-", "rss": "-",
                             "violations": "-", "note": str(e)})
                print(table(rows[-1:]).splitlines()[-1], flush=True)
                continue
            try:
                cases = HTTPS if kind == "https" else \
                    COMMON + (HTTP if kind == "http" else CHAT if kind == "chat" else [])
                if args.cases:
                    cases = [c for c in cases if c[0] in args.cases.split(",")]
                for case, fn in cases:
                    row = run_case(server, case, fn, args.quick, site)
                    rows.append(row)
                    print(table([row]).splitlines()[-1], flush=True)
                status = server.stop()
                row = {"server": name, "case": "shutdown", "crashed": "-", "hung": "-",
                       "denied": "-", "worst": "-", "fds": "-", "rss": "-",
                       "violations": 0 if status == 0 else 1,
                       "note": f"SIGINT: exit {status}" if status is not None
                       else "SIGINT: still running after 10 s, killed"}
                rows.append(row)
                print(table([row]).splitlines()[-1], flush=True)
            finally:
                server.kill()
            print(f"# {name}: {time.monotonic() - t0:.0f} s", file=sys.stderr, flush=True)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    elapsed = time.monotonic() - started
    text = table(rows)
    bad = 0
    for r in rows:
        for k in ("crashed", "hung", "denied", "fds", "violations"):
            if isinstance(r.get(k), int):
                bad += r[k]
        if r.get("case") == "start" and "not available" not in r.get("note", ""):
            bad += 1
    summary = f"\n{len(rows)} rows in {elapsed:.0f} s; problems (crashed + hung + denied + fds " \
              f"+ violations + servers that did not start, models not built excepted): {bad}\n"
    print("\n" + text + summary)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n" + summary)
    sys.exit(0 if bad == 0 else 1)


if __name__ == "__main__":
    main()
