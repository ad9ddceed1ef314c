//! A `Manager` holds a dict and a list in a server process; ten processes fill them
//! through proxies (the tutorials' `f(d, l)`).
//!
//! `cargo run -p c10k-process --example manager_dict`

use c10k_process::{DictProxy, Entry, ListProxy, Manager, Process, Registered};

/// What each process gets: the dict, the list, and its number.
type Args = (DictProxy<String, String>, ListProxy<u32>, u32);

fn f((d, l, i): Args) {
    d.set(&"1".to_string(), &"1".to_string()).unwrap();
    d.set(&"2".to_string(), &"2".to_string()).unwrap();
    d.set(
        &format!("process {i}"),
        &format!("pid {}", std::process::id()),
    )
    .unwrap();
    l.append(&i).unwrap();
}
static F: Entry<Args, ()> = Entry::new("manager_f", f);

pub(crate) const ENTRIES: &[&dyn Registered] = &[&F];

pub(crate) fn demo() -> std::io::Result<()> {
    let manager = Manager::start()?;
    println!("the manager runs as pid {}", manager.pid().unwrap());
    let d = manager.dict::<String, String>()?;
    let l = manager.list(0..5u32)?;
    let mut ps: Vec<_> = (0..10)
        .map(|i| Process::spawn(&F, (d.clone(), l.clone(), i)))
        .collect::<std::io::Result<_>>()?;
    for p in &mut ps {
        p.join()?;
    }
    for (k, v) in d.items()? {
        println!("  d[{k:?}] = {v:?}");
    }
    println!("  l = {:?}", l.items()?);
    assert_eq!(d.len()?, 12);
    assert_eq!(l.len()?, 15);
    manager.shutdown()
}

#[allow(dead_code)]
fn main() -> std::io::Result<()> {
    c10k_process::init(ENTRIES);
    demo()
}
