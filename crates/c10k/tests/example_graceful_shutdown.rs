//! Runs the `graceful_shutdown` example in a test binary of its own (it installs a SIGINT
//! handler for the rest of the process and sends itself SIGINT).

#[path = "../examples/graceful_shutdown.rs"]
mod graceful_shutdown;

#[test]
fn stops_accepting_on_sigint_and_drains_connections() -> std::io::Result<()> {
    // The example asserts every echo and returns an error if a connection was cut.
    graceful_shutdown::main()
}
