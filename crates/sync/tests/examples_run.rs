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
    deadlock::main();
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
