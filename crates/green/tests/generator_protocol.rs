//! The generator protocol: start/send/next/throw/close/state, the iterator, panics, drops.

use std::cell::RefCell;
use std::fmt;
use std::rc::Rc;

use c10k_green::generator::{Co, Exception, Generator, GeneratorState, Step};

#[derive(Debug, PartialEq)]
struct Download(&'static str);
impl fmt::Display for Download {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "download error: {}", self.0)
    }
}
impl std::error::Error for Download {}

/// Pushes its name into a shared log when dropped: the `finally:` of the tests.
struct Finally(&'static str, Rc<RefCell<Vec<&'static str>>>);
impl Drop for Finally {
    fn drop(&mut self) {
        self.1.borrow_mut().push(self.0);
    }
}

#[test]
fn send_passes_values_in_and_out() -> Result<(), Exception> {
    // The tutorial's gen_func: `html = yield url; print(html); return "bobby"`.
    let received = Rc::new(RefCell::new(String::new()));
    let r = Rc::clone(&received);
    let mut gen: Generator<String, &str, &str> = Generator::new(move |co| {
        let html = co.yield_("http://projectsedu.com")?;
        *r.borrow_mut() = html;
        Ok("bobby")
    });
    assert_eq!(gen.start()?, Step::Yielded("http://projectsedu.com"));
    assert_eq!(gen.send("<html>".into())?, Step::Returned("bobby"));
    assert_eq!(*received.borrow(), "<html>");
    assert_eq!(gen.state(), GeneratorState::Closed);
    Ok(())
}

#[test]
fn states_follow_the_life_of_a_generator() -> Result<(), Exception> {
    let mut gen: Generator<(), u32, &str> = Generator::new(|co| {
        assert_eq!(co.state(), GeneratorState::Running);
        co.yield_(1)?;
        Ok("bobby")
    });
    assert_eq!(gen.state(), GeneratorState::Created);
    assert_eq!(gen.resume()?, Step::Yielded(1));
    assert_eq!(gen.state(), GeneratorState::Suspended);
    assert_eq!(gen.resume()?, Step::Returned("bobby"));
    assert_eq!(gen.state(), GeneratorState::Closed);
    Ok(())
}

#[test]
fn throw_is_raised_at_the_yield_and_can_be_handled() -> Result<(), Exception> {
    // The tutorial: `try: yield url except Exception: pass; yield 2; yield 3`.
    let mut gen: Generator<(), u32, &str> = Generator::new(|co: &Co<'_, (), u32>| {
        if let Err(e) = co.yield_(1) {
            assert_eq!(e.to_string(), "download error: url");
        }
        co.yield_(2)?;
        co.yield_(3)?;
        Ok("bobby")
    });
    assert_eq!(gen.resume()?, Step::Yielded(1));
    assert_eq!(gen.throw(Box::new(Download("url")))?, Step::Yielded(2));
    assert_eq!(gen.resume()?, Step::Yielded(3));
    Ok(())
}

#[test]
fn an_uncaught_throw_comes_back_out_and_closes() {
    let log = Rc::new(RefCell::new(Vec::new()));
    let l = Rc::clone(&log);
    let mut gen: Generator<(), u32, (), Download> = Generator::new(move |co| {
        let _finally = Finally("finally", l);
        co.yield_(1)?;
        unreachable!("the thrown error is propagated by `?`");
    });
    assert_eq!(gen.resume(), Ok(Step::Yielded(1)));
    assert_eq!(gen.throw(Download("x")), Err(Download("x")));
    assert_eq!(gen.state(), GeneratorState::Closed);
    assert_eq!(*log.borrow(), ["finally"]);
    // Throwing into a closed generator re-raises at once.
    assert_eq!(gen.throw(Download("y")), Err(Download("y")));
}

#[test]
fn throw_into_a_new_generator_raises_before_its_first_line() {
    let ran = Rc::new(RefCell::new(false));
    let r = Rc::clone(&ran);
    let mut gen: Generator<(), u32, (), Download> = Generator::new(move |_co| {
        *r.borrow_mut() = true;
        Ok(())
    });
    assert_eq!(gen.throw(Download("early")), Err(Download("early")));
    assert!(!*ran.borrow());
    assert_eq!(gen.state(), GeneratorState::Closed);
}

#[test]
fn close_unwinds_and_runs_destructors_in_order() -> Result<(), Exception> {
    let log = Rc::new(RefCell::new(Vec::new()));
    let l = Rc::clone(&log);
    let mut gen: Generator<(), u32, ()> = Generator::new(move |co| {
        let _outer = Finally("outer", Rc::clone(&l));
        let _inner = Finally("inner", Rc::clone(&l));
        co.yield_(1)?;
        l.borrow_mut().push("after the yield: never reached");
        Ok(())
    });
    assert_eq!(gen.resume()?, Step::Yielded(1));
    gen.close();
    assert_eq!(gen.state(), GeneratorState::Closed);
    assert_eq!(*log.borrow(), ["inner", "outer"]);
    gen.close(); // closing again does nothing
    assert_eq!(log.borrow().len(), 2);
    Ok(())
}

#[test]
fn a_generator_dropped_while_suspended_runs_its_destructors() -> Result<(), Exception> {
    let log = Rc::new(RefCell::new(Vec::new()));
    let l = Rc::clone(&log);
    let mut gen: Generator<(), u32, ()> = Generator::new(move |co| {
        let _held = Finally("held", l);
        loop {
            co.yield_(7)?;
        }
    });
    assert_eq!(gen.resume()?, Step::Yielded(7));
    drop(gen);
    assert_eq!(*log.borrow(), ["held"]);
    Ok(())
}

#[test]
fn closing_a_created_generator_drops_its_captures_without_running() {
    let log = Rc::new(RefCell::new(Vec::new()));
    let captured = Finally("captured", Rc::clone(&log));
    let mut gen: Generator<(), u32, ()> = Generator::new(move |_co| {
        let _keep = &captured;
        panic!("never runs");
    });
    gen.close();
    assert_eq!(*log.borrow(), ["captured"]);
    assert_eq!(gen.state(), GeneratorState::Closed);
}

#[test]
fn the_iterator_yields_until_return() {
    let gen: Generator<(), u32, &str> = Generator::new(|co| {
        for i in 0..5 {
            co.yield_(i)?;
        }
        Ok("done")
    });
    let values: Result<Vec<u32>, _> = gen.collect();
    assert_eq!(values.expect("no error"), [0, 1, 2, 3, 4]);
}

#[test]
fn the_iterator_ends_after_an_error() {
    let mut gen: Generator<(), u32, (), Download> = Generator::new(|co| {
        co.yield_(1)?;
        Err(Download("mid-way"))
    });
    assert_eq!(gen.next(), Some(Ok(1)));
    assert_eq!(gen.next(), Some(Err(Download("mid-way"))));
    assert_eq!(gen.next(), None);
}

#[test]
fn a_panic_inside_propagates_to_the_caller_and_closes() {
    let mut gen: Generator<(), u32, ()> = Generator::new(|co| {
        co.yield_(1)?;
        panic!("boom in the generator");
    });
    assert!(matches!(gen.resume(), Ok(Step::Yielded(1))));
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| gen.resume()))
        .expect_err("the panic propagates");
    assert_eq!(
        caught.downcast_ref::<&str>(),
        Some(&"boom in the generator")
    );
    assert_eq!(gen.state(), GeneratorState::Closed);
}

#[test]
#[should_panic(expected = "never started")]
fn send_before_start_panics() {
    let mut gen: Generator<u32, u32, ()> = Generator::new(|co| {
        co.yield_(0)?;
        Ok(())
    });
    let _ = gen.send(1);
}

#[test]
#[should_panic(expected = "closed generator")]
fn send_after_return_panics() {
    let mut gen: Generator<u32, u32, ()> = Generator::new(|_co| Ok(()));
    assert!(matches!(gen.start(), Ok(Step::Returned(()))));
    let _ = gen.send(1);
}

#[test]
fn a_custom_stack_size_is_honoured_and_deep_recursion_fits_in_it() -> Result<(), Exception> {
    fn depth(n: u32) -> u32 {
        let pad = std::hint::black_box([0u8; 512]);
        if n == 0 {
            u32::from(pad[0])
        } else {
            depth(n - 1) + 1 + u32::from(pad[1])
        }
    }
    let mut gen: Generator<(), u32, ()> = Generator::with_stack_size(4 << 20, |co| {
        co.yield_(depth(2000))?;
        Ok(())
    })?;
    assert_eq!(gen.resume()?, Step::Yielded(2000));
    assert!(format!("{gen:?}").contains("stack_size: 4194304"));
    Ok(())
}

#[test]
fn nested_generators_resume_each_other() -> Result<(), Exception> {
    let mut outer: Generator<(), u32, ()> = Generator::new(|co| {
        let inner: Generator<(), u32, ()> = Generator::new(|co| {
            co.yield_(1)?;
            co.yield_(2)?;
            Ok(())
        });
        for v in inner {
            co.yield_(v? * 10)?;
        }
        Ok(())
    });
    assert_eq!(outer.resume()?, Step::Yielded(10));
    assert_eq!(outer.resume()?, Step::Yielded(20));
    assert_eq!(outer.resume()?, Step::Returned(()));
    Ok(())
}

#[test]
#[ignore = "aborts the process: run by stack_overflow_is_reported in a child"]
fn overflow_child() {
    #[allow(unconditional_recursion)] // it overflows the stack on purpose
    fn deep(n: u64) -> u64 {
        let pad = std::hint::black_box([1u8; 1024]);
        deep(n + 1) + u64::from(pad[n as usize % 1024])
    }
    let mut gen: Generator<(), u64, ()> = Generator::with_stack_size(64 * 1024, |co| {
        co.yield_(deep(0))?;
        Ok(())
    })
    .expect("stack");
    let _ = gen.resume();
}

/// Regression guard for the overflow report: a generator that recurses past its 64 KiB stack
/// hits the guard page, and the process aborts with one line naming the stack size instead of
/// dying of a bare SIGSEGV (or worse, writing over other memory).
#[test]
fn stack_overflow_is_reported() -> std::io::Result<()> {
    use std::os::unix::process::ExitStatusExt;
    let out = std::process::Command::new(std::env::current_exe()?)
        .args(["overflow_child", "--ignored", "--exact", "--test-threads=1"])
        .output()?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.signal(),
        Some(libc_sigabrt()),
        "stderr: {stderr}"
    );
    assert!(
        stderr.contains("overflowed its stack of 65536 bytes"),
        "stderr: {stderr}"
    );
    Ok(())
}

fn libc_sigabrt() -> i32 {
    6 // SIGABRT on Linux
}
