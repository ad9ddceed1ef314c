#!/usr/bin/env python3
"""Groups a flat `perf report --no-children --sort sym` profile of each echo server by the
mechanism a symbol belongs to: what a completion model can remove (system call entry and
exit, epoll, the readiness poll that epoll_wait makes, the descriptor lookup) and what it
adds (io_uring's own code). Usage: shares.py URING.flat TOKIO.flat"""
import re
import sys

GROUPS = {
    "system call entry/exit": r"^(entry_SYSCALL|do_syscall_64|syscall_exit|syscall_return|"
    r"__x64_sys|x64_sys_call|exit_to_user|__sys_|ksys_|syscall$|arch_exit|fpregs|"
    r"switch_fpu|restore_fpregs)",
    "descriptor lookup": r"^(fdget|fget|fput|__fget|sock_from_file|__fdget)",
    "epoll": r"^(ep_|do_epoll|__ep|epoll)",
    "readiness poll (sock_poll, tcp_poll)": r"^(sock_poll|tcp_poll|tcp_stream_is_readable)",
    "io_uring": r"^(io_|__io|llist_reverse_order|tctx_|io_uring)",
}


def load(path):
    shares = {}
    for line in open(path):
        m = re.match(r"\s+([\d.]+)%\s+\[(.)\]\s+(\S+)", line)
        if m and m.group(2) == "k":
            shares[m.group(3)] = shares.get(m.group(3), 0) + float(m.group(1))
    return shares


uring, tokio = load(sys.argv[1]), load(sys.argv[2])
print(f"{'share of each server CPU, %':40s} {'uring':>7s} {'tokio':>7s}")
for name, pat in GROUPS.items():
    u = sum(v for s, v in uring.items() if re.match(pat, s))
    t = sum(v for s, v in tokio.items() if re.match(pat, s))
    print(f"{name:40s} {u:7.2f} {t:7.2f}")
print(f"{'kernel, all':40s} {sum(uring.values()):7.2f} {sum(tokio.values()):7.2f}")
