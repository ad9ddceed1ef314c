//! Signals, in a test binary of their own: the handlers it installs stay for the life of
//! the process (SIGINT no longer kills it), which must not leak into other tests.

mod util;

use std::io;

use c10k_runtime::signal::{self, SignalKind};
use futures_util::StreamExt;

fn raise(sig: rustix::process::Signal) -> io::Result<()> {
    Ok(rustix::process::kill_process(
        rustix::process::getpid(),
        sig,
    )?)
}

#[test]
fn ctrl_c_resolves_after_sigint() -> io::Result<()> {
    util::run(async {
        let ctrl_c = signal::ctrl_c();
        futures_util::pin_mut!(ctrl_c);
        // First poll installs the handler and starts listening.
        assert!(futures_util::poll!(ctrl_c.as_mut()).is_pending());
        raise(rustix::process::Signal::INT)?;
        ctrl_c.await
    })
}

#[test]
fn signal_stream_on_both_schedulers_and_two_listeners() -> io::Result<()> {
    for flavor in ["current_thread", "multi_thread"] {
        let b = c10k_runtime::Runtime::builder();
        let rt = if flavor == "current_thread" {
            b.current_thread().build()?
        } else {
            b.multi_thread().worker_threads(2).build()?
        };
        rt.block_on(async {
            let mut a = signal::signal(SignalKind::user_defined1())?;
            let mut b = signal::signal(SignalKind::user_defined1())?;
            for _ in 0..3 {
                raise(rustix::process::Signal::USR1)?;
                // Both listeners see each delivery (bursts may coalesce; we wait for each).
                a.next().await.expect("runtime alive");
                b.recv().await.expect("runtime alive");
            }
            // A listener in another task is woken even though this task may drain the pipe.
            let mut c = signal::signal(SignalKind::user_defined2())?;
            let waiter = c10k_runtime::spawn(async move { c.recv().await });
            c10k_runtime::task::yield_now().await;
            raise(rustix::process::Signal::USR2)?;
            assert_eq!(
                waiter.await.map_err(io::Error::other)?,
                Some(()),
                "{flavor}"
            );
            Ok::<_, io::Error>(())
        })?;
    }
    Ok(())
}

#[test]
fn uncatchable_signals_are_refused() {
    util::run(async {
        let err = signal::signal(SignalKind::from_raw(libc::SIGKILL)).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert!(signal::signal(SignalKind::from_raw(0)).is_err());
        assert!(signal::signal(SignalKind::from_raw(1000)).is_err());
    });
}
