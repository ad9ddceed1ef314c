//! `#[c10k::test]` and `#[c10k::main]` expand to a runtime of the requested shape.

use std::io;

use c10k::runtime::driver::Backend;
use c10k::Handle;

#[c10k::test]
async fn default_is_current_thread_with_local_tasks() {
    // spawn_local works: the current-thread flavor runs the body in a LocalSet.
    let rc = std::rc::Rc::new(5);
    let r2 = rc.clone();
    let v = c10k::spawn_local(async move { *r2 + 1 }).await.unwrap();
    assert_eq!(v, 6);
    assert!(format!("{:?}", Handle::current()).contains("CurrentThread"));
}

#[c10k::test(flavor = "multi_thread", worker_threads = 2)]
async fn multi_thread_flavor() {
    let dbg = format!("{:?}", Handle::current());
    assert!(dbg.contains("MultiThread(2 workers)"), "{dbg}");
}

#[c10k::test(backend = "poll")]
async fn backend_poll() {
    assert_eq!(Handle::current().backend(), Backend::Poll);
}

#[c10k::test(backend = "select")]
async fn backend_select() {
    assert_eq!(Handle::current().backend(), Backend::Select);
}

#[c10k::test(backend = "uring")]
async fn backend_uring() -> io::Result<()> {
    assert_eq!(Handle::current().backend(), Backend::Uring);
    // A round trip through the ring's stream path.
    let l = c10k::net::TcpListener::bind("127.0.0.1:0").await?;
    let c = c10k::net::TcpStream::connect(l.local_addr()?).await?;
    let (s, _) = l.accept().await?;
    c.write_all(b"ring").await?;
    let mut buf = [0u8; 4];
    s.read_exact(&mut buf).await?;
    assert_eq!(&buf, b"ring");
    Ok(())
}

#[c10k::test]
async fn question_mark_infers_the_error_type() -> io::Result<()> {
    let l = c10k::net::TcpListener::bind("127.0.0.1:0").await?;
    let _ = l.local_addr()?;
    Ok(())
}

#[c10k::test]
#[should_panic(expected = "boom")]
async fn panics_propagate_to_the_test_harness() {
    panic!("boom");
}

mod main_expansion {
    // `#[c10k::main]` on a function of another name is callable like any function.
    #[c10k::main(flavor = "current_thread", backend = "epoll")]
    async fn entry() -> u32 {
        assert_eq!(
            c10k::Handle::current().backend(),
            c10k::runtime::driver::Backend::Epoll
        );
        c10k::spawn(async { 41 }).await.unwrap() + 1
    }

    #[test]
    fn main_runs_the_body_on_a_runtime() {
        assert_eq!(entry(), 42);
    }
}

/// The macros accept exactly the runtime's backends: `backend = "NAME"` is looked up in
/// `Backend::ALL` (no list of names in the macro crate to fall out of step).
#[test]
fn macro_backend_names_are_the_runtimes_list() {
    for backend in Backend::ALL {
        assert_eq!(
            c10k::__private::backend_named(backend.name()),
            Some(backend)
        );
    }
    assert_eq!(c10k::__private::backend_named("kqueue"), None);
    assert_eq!(c10k::__private::backend_named("Epoll"), None);
    assert_eq!(c10k::__private::backend_named(""), None);
}
