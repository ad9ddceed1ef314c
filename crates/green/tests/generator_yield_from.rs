//! `yield_from`: PEP 380's semantics, one test per point of the module docs, plus the
//! tutorials' `sales_sum` delegation.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt;
use std::rc::Rc;

use c10k_green::generator::{Co, Generator, GeneratorState, Step};

#[derive(Debug, PartialEq)]
struct Oops(&'static str);
impl fmt::Display for Oops {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}
impl std::error::Error for Oops {}

type Log = Rc<RefCell<Vec<String>>>;

fn log() -> Log {
    Rc::new(RefCell::new(Vec::new()))
}

struct Finally(&'static str, Log);
impl Drop for Finally {
    fn drop(&mut self) {
        self.1.borrow_mut().push(self.0.to_string());
    }
}

/// Yields what it received, tagged; returns the sum of what it received when sent 0.
fn echo_sum(log: Log) -> Generator<u32, String, u32, Oops> {
    Generator::new(move |co| {
        let _f = Finally("sub finally", Rc::clone(&log));
        let mut sum = 0;
        let mut got = co.yield_("sub ready".to_string());
        loop {
            match got {
                Ok(0) => return Ok(sum),
                Ok(x) => {
                    sum += x;
                    got = co.yield_(format!("sub got {x}"));
                }
                Err(Oops("handle me")) => {
                    log.borrow_mut().push("sub handled".into());
                    got = co.yield_("sub recovered".to_string());
                }
                Err(Oops("stop")) => return Ok(1000),
                Err(e) => return Err(e),
            }
        }
    })
}

fn delegator(log: Log) -> Generator<u32, String, String, Oops> {
    Generator::new(move |co: &Co<'_, u32, String, Oops>| {
        let _f = Finally("outer finally", Rc::clone(&log));
        let mut sub = echo_sum(Rc::clone(&log));
        let r = co.yield_from(&mut sub);
        log.borrow_mut().push(format!("yield_from gave {r:?}"));
        let r = r?;
        co.yield_(format!("outer saw {r}"))?;
        Ok(format!("outer returns {r}"))
    })
}

#[test]
fn point_1_values_of_the_sub_go_to_the_caller() -> Result<(), Oops> {
    let mut d = delegator(log());
    assert_eq!(d.start()?, Step::Yielded("sub ready".into()));
    Ok(())
}

#[test]
fn point_2_sends_are_forwarded() -> Result<(), Oops> {
    let mut d = delegator(log());
    let _ = d.start()?;
    assert_eq!(d.send(5)?, Step::Yielded("sub got 5".into()));
    assert_eq!(d.send(7)?, Step::Yielded("sub got 7".into()));
    Ok(())
}

#[test]
fn point_2_an_error_raised_by_the_sub_propagates_into_the_delegator() -> Result<(), Oops> {
    let l = log();
    let mut d = delegator(Rc::clone(&l));
    let _ = d.start()?;
    // The sub re-raises an unknown thrown error; the delegator gets it from yield_from and
    // lets it out with `?`.
    assert_eq!(d.throw(Oops("unknown")), Err(Oops("unknown")));
    assert!(l
        .borrow()
        .contains(&"yield_from gave Err(Oops(\"unknown\"))".to_string()));
    assert_eq!(d.state(), GeneratorState::Closed);
    Ok(())
}

#[test]
fn point_3_throws_are_forwarded_and_a_handled_one_yields_back() -> Result<(), Oops> {
    let l = log();
    let mut d = delegator(Rc::clone(&l));
    let _ = d.start()?;
    assert_eq!(
        d.throw(Oops("handle me"))?,
        Step::Yielded("sub recovered".into())
    );
    assert_eq!(l.borrow()[0], "sub handled");
    // Delegation continues after the handled throw.
    assert_eq!(d.send(3)?, Step::Yielded("sub got 3".into()));
    Ok(())
}

#[test]
fn point_3_a_throw_that_makes_the_sub_return_ends_delegation_with_its_value() -> Result<(), Oops> {
    let mut d = delegator(log());
    let _ = d.start()?;
    assert_eq!(
        d.throw(Oops("stop"))?,
        Step::Yielded("outer saw 1000".into())
    );
    Ok(())
}

#[test]
fn point_4_closing_the_delegator_closes_the_sub_first() -> Result<(), Oops> {
    let l = log();
    let mut d = delegator(Rc::clone(&l));
    let _ = d.start()?;
    let _ = d.send(1)?;
    d.close();
    assert_eq!(*l.borrow(), ["sub finally", "outer finally"]);
    assert_eq!(d.state(), GeneratorState::Closed);
    Ok(())
}

#[test]
fn point_4_dropping_the_delegator_closes_the_sub_first() -> Result<(), Oops> {
    let l = log();
    let mut d = delegator(Rc::clone(&l));
    let _ = d.start()?;
    drop(d);
    assert_eq!(*l.borrow(), ["sub finally", "outer finally"]);
    Ok(())
}

#[test]
fn point_5_the_value_of_yield_from_is_the_return_value_of_the_sub() -> Result<(), Oops> {
    let l = log();
    let mut d = delegator(Rc::clone(&l));
    let _ = d.start()?;
    let _ = d.send(2)?;
    let _ = d.send(40)?;
    assert_eq!(d.send(0)?, Step::Yielded("outer saw 42".into()));
    assert!(l.borrow().contains(&"yield_from gave Ok(42)".to_string()));
    Ok(())
}

#[test]
fn point_6_the_delegators_own_return_ends_it() -> Result<(), Oops> {
    let mut d = delegator(log());
    let _ = d.start()?;
    let _ = d.send(0)?;
    assert_eq!(d.send(0)?, Step::Returned("outer returns 0".into()));
    assert_eq!(d.state(), GeneratorState::Closed);
    Ok(())
}

#[test]
#[should_panic(expected = "not been started")]
fn yield_from_a_started_generator_panics() {
    let mut d: Generator<u32, String, (), Oops> = Generator::new(|co| {
        let mut sub = echo_sum(log());
        let _ = sub.start();
        co.yield_from(&mut sub)?;
        Ok(())
    });
    let _ = d.start();
}

/// The tutorials' `sales_sum` behind a `middle` generator: the caller sends figures through
/// `middle` straight into `sales_sum`; `None` ends one product, and `yield from`'s value, the
/// `(total, figures)` pair, lands in `final_result`.
#[test]
fn sales_sum_through_a_middle_generator() -> Result<(), Oops> {
    type Sales = Generator<Option<u32>, (), (u32, Vec<u32>), Oops>;
    fn sales_sum() -> Sales {
        Generator::new(|co| {
            let (mut total, mut nums) = (0, Vec::new());
            while let Some(x) = co.yield_(())? {
                total += x;
                nums.push(x);
            }
            Ok((total, nums))
        })
    }
    let final_result = Rc::new(RefCell::new(BTreeMap::new()));
    let data_sets: [(&str, &[u32]); 3] = [
        ("mask", &[1200, 1500, 3000]),
        ("phone", &[28, 55, 98, 108]),
        ("coat", &[280, 560, 778, 70]),
    ];
    for (key, data) in data_sets {
        let results = Rc::clone(&final_result);
        let mut middle: Generator<Option<u32>, (), (), Oops> = Generator::new(move |co| loop {
            let r = co.yield_from(&mut sales_sum())?;
            results.borrow_mut().insert(key, r);
        });
        middle.start()?;
        for &value in data {
            middle.send(Some(value))?;
        }
        middle.send(None)?;
    }
    let final_result = final_result.borrow();
    assert_eq!(final_result["mask"], (5700, vec![1200, 1500, 3000]));
    assert_eq!(final_result["phone"], (289, vec![28, 55, 98, 108]));
    assert_eq!(final_result["coat"], (1688, vec![280, 560, 778, 70]));
    Ok(())
}
