//! Runs the `busy_poll` example with a few pages: both clients fetch every page, and the busy
//! poller counts the tries that found nothing to do (the server takes 20 ms per answer, so the
//! first `recv` after each request finds nothing).

#[path = "../examples/busy_poll.rs"]
mod busy_poll;

#[test]
fn busy_polling_and_the_selector_fetch_every_page() -> std::io::Result<()> {
    let (busy, selector) = busy_poll::demo(4, std::time::Duration::from_millis(20))?;
    assert_eq!(busy.pages, 4, "{busy:?}");
    assert_eq!(selector.pages, 4, "{selector:?}");
    assert!(busy.wasted > 0, "{busy:?}");
    assert!(busy.cpu > std::time::Duration::ZERO, "{busy:?}");
    Ok(())
}
