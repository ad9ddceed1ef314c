//! Cost of one `select` call as the number of registered descriptors grows.
//!
//! For each backend and N in {10, 100, 1000, 10000}: N idle registered
//! sockets plus one ready one, and one call to `Selector::select` with a zero
//! timeout, which returns that one event. This is the per-call overhead the
//! tutorials describe: select and poll copy and scan the whole set every
//! call (O(N)), epoll keeps the interest list in the kernel and only looks
//! at the ready list (O(ready)). select stops at N = 1000: its descriptors
//! must stay below FD_SETSIZE (1024).
//!
//! The idle sockets are unbound UDP sockets registered for readability:
//! never readable, never hung up, and one descriptor each (a socket pair
//! would need two, and 10000 pairs do not fit under the 20000-descriptor
//! limit). The ready one is one end of a Unix socket pair holding unread data,
//! so it stays readable (level-triggered) for every iteration.
//!
//! A second group, `register_deregister`, measures what epoll pays instead:
//! a system call per interest change.
//!
//! Run: `cargo bench -p c10k-selector --bench selector_scaling`.

use std::io::Write;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::time::Duration;

use c10k_selector::{Backend, Events, Interest, Selector, Token, FD_SETSIZE};
use criterion::{criterion_main, BenchmarkId, Criterion};
use rustix::net::{socket, AddressFamily, SocketType};

const SIZES: [usize; 4] = [10, 100, 1000, 10_000];

struct Setup {
    selector: Selector,
    _idle: Vec<OwnedFd>,
    _ready: (UnixStream, UnixStream),
}

fn setup(backend: Backend, n: usize) -> Setup {
    let selector = Selector::with_backend(backend).expect("selector");
    let (mut writer, reader) = UnixStream::pair().expect("socketpair");
    reader.set_nonblocking(true).expect("nonblocking");
    writer.write_all(b"ready").expect("write");
    selector
        .register(reader.as_raw_fd(), Token(n), Interest::READABLE)
        .expect("register ready");
    let idle: Vec<OwnedFd> = (0..n)
        .map(|i| {
            let fd = socket(AddressFamily::INET, SocketType::DGRAM, None).expect("socket");
            selector
                .register(fd.as_raw_fd(), Token(i), Interest::READABLE)
                .expect("register idle");
            fd
        })
        .collect();
    Setup {
        selector,
        _idle: idle,
        _ready: (writer, reader),
    }
}

fn scaling(c: &mut Criterion) {
    let mut group = c.benchmark_group("select_one_ready");
    group.measurement_time(Duration::from_secs(2));
    group.warm_up_time(Duration::from_millis(500));
    for n in SIZES {
        for backend in Backend::ALL {
            // select(2): all descriptors, ours and the harness's, below 1024.
            if backend == Backend::Select && n + 24 > FD_SETSIZE {
                continue;
            }
            let s = setup(backend, n);
            let mut events = Events::with_capacity(64);
            assert_eq!(
                s.selector
                    .select(&mut events, Some(Duration::ZERO))
                    .unwrap(),
                1
            );
            group.bench_with_input(BenchmarkId::new(backend.name(), n), &n, |b, _| {
                b.iter(|| {
                    let got = s
                        .selector
                        .select(&mut events, Some(Duration::ZERO))
                        .unwrap();
                    debug_assert_eq!(got, 1);
                    got
                })
            });
        }
    }
    group.finish();
}

/// Cost of changing the interest set: `register` + `deregister` of one
/// socket, with 100 others registered. epoll pays two `epoll_ctl` system
/// calls; select and poll change memory under a lock, and pay instead at
/// their next wait, which rebuilds the set (O(N), not measured here).
fn registration(c: &mut Criterion) {
    let mut group = c.benchmark_group("register_deregister");
    group.measurement_time(Duration::from_secs(1));
    group.warm_up_time(Duration::from_millis(300));
    for backend in Backend::ALL {
        let s = setup(backend, 100);
        let fd = socket(AddressFamily::INET, SocketType::DGRAM, None).expect("socket");
        group.bench_function(backend.name(), |b| {
            b.iter(|| {
                s.selector
                    .register(fd.as_raw_fd(), Token(1 << 20), Interest::READABLE)
                    .unwrap();
                s.selector.deregister(fd.as_raw_fd()).unwrap();
            })
        });
    }
    group.finish();
}

// `criterion_group!` defines an undocumented `pub fn benches`.
#[allow(missing_docs)]
mod group {
    criterion::criterion_group!(benches, super::scaling, super::registration);
}
criterion_main!(group::benches);
