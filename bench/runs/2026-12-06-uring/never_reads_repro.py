"""A client that never reads, against `c10k echo --model M` (run from the repository root):
it writes 64 MiB without reading a byte and reports when the server drops it.

Both models reset it after ~9 MiB (1 MiB of pending output, then a reset). Before the echo's
explicit reset (`echo/runtime.rs` `abort`), uring never did: the dropped stream lingered
on its blocked send forever (see ANALYSIS.md).

    python3 bench/runs/2026-12-06-uring/never_reads_repro.py uring
"""
import socket, subprocess, sys

model = sys.argv[1]
p = subprocess.Popen(["target/debug/c10k", "echo", "--model", model, "--listen", "127.0.0.1:0"],
                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
try:
    h, port = p.stdout.readline().strip().rsplit(":", 1)
    s = socket.create_connection((h, int(port)))
    s.settimeout(5)
    chunk = b"z" * 65536
    sent = 0
    try:
        for _ in range(1024):
            s.sendall(chunk)
            sent += 1
        print(model, "never dropped")
    except OSError as e:
        print(model, "after", sent, "chunks of 64 KiB:", e)
    print(subprocess.run(["ss", "-tnoi", f"sport = :{port}"], capture_output=True, text=True).stdout)
finally:
    p.send_signal(2)
    p.wait(timeout=10)
