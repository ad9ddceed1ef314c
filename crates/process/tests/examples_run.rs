//! Runs every example's demo in this one process (after one `init` with all their
//! entries), so that the tutorial ports keep working and terminate on their own. Each demo
//! asserts its own story (the zombie is seen as `Z`, the unlocked booth oversells, …).
//! Runs with `harness = false` (see `tests/util`).

mod util;

#[path = "../examples/cpu_bound.rs"]
mod cpu_bound;
#[path = "../examples/daemon.rs"]
mod daemon;
#[path = "../examples/isolation.rs"]
mod isolation;
#[path = "../examples/join_order.rs"]
mod join_order;
#[path = "../examples/manager_dict.rs"]
mod manager_dict;
#[path = "../examples/pids.rs"]
mod pids;
#[path = "../examples/pipe_ping_pong.rs"]
mod pipe_ping_pong;
#[path = "../examples/producer_consumer.rs"]
mod producer_consumer;
#[path = "../examples/ticket_booth.rs"]
mod ticket_booth;
#[path = "../examples/zombie_orphan.rs"]
mod zombie_orphan;

fn main() {
    let all: Vec<&'static dyn c10k_process::Registered> = [
        cpu_bound::ENTRIES,
        daemon::ENTRIES,
        isolation::ENTRIES,
        join_order::ENTRIES,
        manager_dict::ENTRIES,
        pids::ENTRIES,
        pipe_ping_pong::ENTRIES,
        producer_consumer::ENTRIES,
        ticket_booth::ENTRIES,
        zombie_orphan::ENTRIES,
    ]
    .concat();
    c10k_process::init(&all);
    util::run(&[
        ("cpu_bound", || cpu_bound::demo_with(20_000)),
        ("daemon", daemon::demo),
        ("isolation", isolation::demo),
        ("join_order", join_order::demo),
        ("manager_dict", manager_dict::demo),
        ("pids", pids::demo),
        ("pipe_ping_pong", pipe_ping_pong::demo),
        ("producer_consumer", producer_consumer::demo),
        ("ticket_booth", ticket_booth::demo),
        ("zombie_orphan", zombie_orphan::demo),
    ]);
}
