//! `Manager`: dict and list proxies used by many processes, errors, shutdown. Runs with
//! `harness = false` (see `tests/util`).

mod util;

use std::io;

use c10k_process::{DictProxy, Entry, ListProxy, Manager, Process};
use util::fail;

/// The tutorial's `f(d, l)`: every process writes the same keys and appends to the list,
/// plus one key of its own.
type FillArgs = (DictProxy<String, i64>, ListProxy<i64>, i64);

fn fill((d, l, me): FillArgs) {
    d.set(&"1".to_string(), &1).unwrap();
    d.set(&"2".to_string(), &2).unwrap();
    d.set(&format!("p{me}"), &me).unwrap();
    l.append(&me).unwrap();
}
static FILL: Entry<FillArgs, ()> = Entry::new("fill", fill);

fn ten_processes() -> io::Result<()> {
    let m = Manager::start()?;
    let d = m.dict::<String, i64>()?;
    let l = m.list::<i64>(0..5)?;
    let mut ps: Vec<_> = (0..10)
        .map(|i| Process::spawn(&FILL, (d.clone(), l.clone(), i)))
        .collect::<io::Result<_>>()?;
    for p in &mut ps {
        assert!(p.join()?.success());
    }
    assert_eq!(d.len()?, 12);
    assert_eq!(d.get(&"2".to_string())?, Some(2));
    assert_eq!(d.get(&"p7".to_string())?, Some(7));
    assert_eq!(d.get(&"nope".to_string())?, None);
    let mut appended: Vec<i64> = l.items()?.split_off(5);
    appended.sort();
    assert_eq!(appended, (0..10).collect::<Vec<_>>());
    assert_eq!(l.len()?, 15);
    m.shutdown()?;
    Ok(())
}

fn dict_and_list_ops() -> io::Result<()> {
    let m = Manager::start()?;
    let d = m.dict::<(u8, bool), Vec<String>>()?;
    assert!(d.is_empty()?);
    d.update([(&(1, true), &vec!["a".to_string()]), (&(2, false), &vec![])])?;
    assert_eq!(d.items()?.len(), 2);
    assert_eq!(d.items()?[0].0, (1, true), "insertion order");
    assert_eq!(d.delete(&(1, true))?, Some(vec!["a".to_string()]));
    assert_eq!(d.delete(&(1, true))?, None);
    d.clear()?;
    assert_eq!(d.len()?, 0);

    let l = m.list(["x".to_string(), "y".to_string()])?;
    assert_eq!(l.get(-1)?, "y");
    l.set(0, &"z".to_string())?;
    l.extend(&["w".to_string()])?;
    assert_eq!(l.items()?, ["z", "y", "w"]);
    assert_eq!(l.pop(None)?, "w");
    assert_eq!(l.pop(Some(0))?, "z");
    let err = l.get(5).unwrap_err();
    assert!(err.to_string().contains("out of range"), "{err}");
    l.clear()?;
    assert!(l.pop(None).unwrap_err().to_string().contains("empty"));
    // A proxy after the manager is gone: a clear error, not a hang.
    let pid = m.pid().ok_or_else(|| fail("no pid"))?;
    assert!(pid > 0);
    drop(m);
    let err = l.len().unwrap_err();
    assert!(
        matches!(
            err.kind(),
            io::ErrorKind::BrokenPipe
                | io::ErrorKind::NotFound
                | io::ErrorKind::ConnectionRefused
                | io::ErrorKind::ConnectionReset
        ),
        "{err:?}"
    );
    Ok(())
}

fn main() {
    c10k_process::init(&[&FILL]);
    util::run(&[
        ("ten_processes", ten_processes),
        ("dict_and_list_ops", dict_and_list_ops),
    ]);
}
