//! The tutorials' generator chapter (seed 000 §5): `send`, `next`, `close`, `throw`, the
//! generator states, `yield from` with the `sales_sum` delegation, and the "baozi"
//! producer/consumer (seed 001) driven by `send`, on [`c10k::generator`].
//!
//! `cargo run -p c10k --example generators`

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use c10k::generator::{Exception, Generator, GeneratorState, Step};

/// `html = yield url; print(html); return "bobby"`, driven with `start` then `send`.
pub(crate) fn send_demo(log: &mut Vec<String>) -> Result<(), Exception> {
    let mut gen: Generator<String, &str, &str> = Generator::new(|co| {
        let html = co.yield_("http://projectsedu.com")?;
        println!("{html}");
        Ok("bobby")
    });
    // `gen.send(None)` / `next(gen)`: prime it.
    if let Step::Yielded(url) = gen.start()? {
        log.push(format!("url: {url}"));
    }
    // `gen.send(html)`: the value becomes the result of the `yield`.
    if let Step::Returned(r) = gen.send("bobby's page".to_string())? {
        log.push(format!("returned: {r}"));
    }
    Ok(())
}

/// `close()`: the body is unwound at its `yield`; its `finally` (a `Drop`) runs.
pub(crate) fn close_demo(log: &mut Vec<String>) -> Result<(), Exception> {
    struct Finally(Rc<RefCell<Vec<String>>>);
    impl Drop for Finally {
        fn drop(&mut self) {
            self.0
                .borrow_mut()
                .push("finally: GeneratorExit unwound the body".into());
        }
    }
    let seen = Rc::new(RefCell::new(Vec::new()));
    let s = Rc::clone(&seen);
    let mut gen: Generator<(), &str, &str> = Generator::new(move |co| {
        let _finally = Finally(s);
        co.yield_("http://projectsedu.com")?;
        co.yield_("2")?;
        Ok("bobby")
    });
    if let Step::Yielded(v) = gen.resume()? {
        log.push(format!("next: {v}"));
    }
    gen.close();
    log.append(&mut seen.borrow_mut());
    log.push(format!("state after close: {:?}", gen.state()));
    Ok(())
}

/// `throw()`: the error is raised at the `yield`; the body catches it and yields on.
pub(crate) fn throw_demo(log: &mut Vec<String>) -> Result<(), Exception> {
    let mut gen: Generator<(), u32, &str> = Generator::new(|co| {
        if let Err(e) = co.yield_(1) {
            println!("caught inside: {e}");
        }
        co.yield_(2)?;
        co.yield_(3)?;
        Ok("bobby")
    });
    let _ = gen.resume()?;
    if let Step::Yielded(v) = gen.throw("download error".into())? {
        log.push(format!("throw returned {v}"));
    }
    if let Step::Yielded(v) = gen.resume()? {
        log.push(format!("next: {v}"));
    }
    Ok(())
}

/// `inspect.getgeneratorstate`: created, suspended, closed.
pub(crate) fn states_demo(log: &mut Vec<String>) -> Result<(), Exception> {
    let mut gen: Generator<(), u32, &str> = Generator::new(|co| {
        co.yield_(1)?;
        Ok("bobby")
    });
    let mut states: Vec<GeneratorState> = vec![gen.state()];
    let _ = gen.resume()?;
    states.push(gen.state());
    let _ = gen.resume()?;
    states.push(gen.state());
    log.push(format!("states: {states:?}"));
    Ok(())
}

/// `final_result[key] = yield from sales_sum(key)` behind a `middle` generator.
pub(crate) fn sales_demo(log: &mut Vec<String>) -> Result<(), Exception> {
    fn sales_sum(name: &'static str) -> Generator<Option<u32>, (), (u32, Vec<u32>)> {
        Generator::new(move |co| {
            let (mut total, mut nums) = (0, Vec::new());
            while let Some(x) = co.yield_(())? {
                println!("{name} sales: {x}");
                total += x;
                nums.push(x);
            }
            Ok((total, nums))
        })
    }
    let final_result = Rc::new(RefCell::new(BTreeMap::new()));
    let data_sets: [(&'static str, &[u32]); 3] = [
        ("bobby mask", &[1200, 1500, 3000]),
        ("bobby phone", &[28, 55, 98, 108]),
        ("bobby coat", &[280, 560, 778, 70]),
    ];
    for (key, data) in data_sets {
        let results = Rc::clone(&final_result);
        let mut middle: Generator<Option<u32>, (), ()> = Generator::new(move |co| loop {
            let r = co.yield_from(&mut sales_sum(key))?;
            results.borrow_mut().insert(key, r);
            println!("{key} sales counted");
        });
        middle.start()?; // prime `middle`
        for &value in data {
            middle.send(Some(value))?; // straight through to sales_sum's `x = yield`
        }
        middle.send(None)?; // ends sales_sum: its return value lands in final_result
    }
    for (k, (total, nums)) in final_result.borrow().iter() {
        log.push(format!("{k}: total {total} from {nums:?}"));
    }
    Ok(())
}

/// The "baozi" consumer: `new_baozi = yield`; the producer `send`s each one to two consumers.
pub(crate) fn baozi_demo(log: &mut Vec<String>) -> Result<(), Exception> {
    fn consumer(name: &'static str, eaten: Rc<RefCell<Vec<String>>>) -> Generator<u32, (), ()> {
        Generator::new(move |co| {
            println!("---> {name} starts eating baozi...");
            loop {
                let baozi = co.yield_(())?;
                eaten
                    .borrow_mut()
                    .push(format!("[{name}] is eating baozi {baozi}"));
            }
        })
    }
    let eaten = Rc::new(RefCell::new(Vec::new()));
    let mut con = consumer("hetan", Rc::clone(&eaten));
    let mut con2 = consumer("liuyao", Rc::clone(&eaten));
    con.start()?;
    con2.start()?;
    for n in 1..=3 {
        con.send(n)?;
        con2.send(n)?;
        eaten
            .borrow_mut()
            .push(format!("[producer] is making baozi {n}"));
    }
    log.append(&mut eaten.borrow_mut());
    Ok(())
}

fn main() -> Result<(), Exception> {
    let mut log = Vec::new();
    send_demo(&mut log)?;
    close_demo(&mut log)?;
    throw_demo(&mut log)?;
    states_demo(&mut log)?;
    sales_demo(&mut log)?;
    baozi_demo(&mut log)?;
    for line in log {
        println!("{line}");
    }
    Ok(())
}
