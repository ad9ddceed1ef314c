//! Runs every example of `examples/` in-process, so that the tutorial ports stay working and
//! terminate on their own (each is bounded in iterations).

#[path = "../examples/bus_passengers.rs"]
mod bus_passengers;
#[path = "../examples/cooks_customers.rs"]
mod cooks_customers;
#[path = "../examples/deadlock.rs"]
mod deadlock;
#[path = "../examples/parking_lot.rs"]
mod parking_lot;
#[path = "../examples/ticket_booth.rs"]
mod ticket_booth;
#[path = "../examples/traffic_light.rs"]
mod traffic_light;

#[test]
fn bus_passengers_runs() {
    bus_passengers::main();
}

#[test]
fn cooks_customers_runs() {
    cooks_customers::main();
}

#[test]
fn deadlock_and_its_fix_run() {
    let outcomes = deadlock::demo();
    if cfg!(feature = "deadlock-detection") {
        // The second request closes the cycle: exactly one is reported, the other then eats.
        let reported = outcomes
            .iter()
            .filter(|o| matches!(o, deadlock::Outcome::Reported(m) if m.contains("cycle") || m.contains("deadlock")))
            .count();
        assert_eq!(reported, 1, "{outcomes:?}");
        assert!(outcomes.contains(&deadlock::Outcome::Ate), "{outcomes:?}");
    } else {
        // Each holds the lock the other wants: whoever gets its second lock got it only
        // after the other gave up, so at least one timed out.
        assert!(
            outcomes.contains(&deadlock::Outcome::TimedOut),
            "{outcomes:?}"
        );
        assert!(
            !outcomes
                .iter()
                .any(|o| matches!(o, deadlock::Outcome::Reported(_))),
            "{outcomes:?}"
        );
    }
}

#[test]
fn parking_lot_runs() {
    parking_lot::main();
}

#[test]
fn ticket_booth_runs() {
    ticket_booth::main();
}

#[test]
fn traffic_light_runs() {
    traffic_light::main();
}
