//! A minimal lab run produces its table and files; unavailable models are listed.

mod util;

use std::io;

use util::{run, LIMIT};

#[test]
fn a_minimal_lab_run_writes_table_csv_json_and_svg() -> io::Result<()> {
    let (out_dir, out_arg) = util::lab_out_dir("lab-test");
    let args = [
        "lab",
        "--models",
        "epoll,uring",
        "--conns",
        "1",
        "--sizes",
        "64",
        "--duration",
        "0.3",
        "--runs",
        "1",
        "--idle",
        "5",
        "--out",
        &out_arg,
    ];
    // io_uring forbidden, as a seccomp profile would: the uring row must say unavailable.
    let out = util::run_env(&args, &[("C10K_URING_DISABLE", "1")], LIMIT)?;
    assert!(out.status.success(), "{}", out.stderr);
    assert!(
        out.stdout.contains("One server at a time"),
        "{}",
        out.stdout
    );
    let epoll = util::table_cells(util::table_row(&out.stdout, "epoll"));
    assert_eq!(epoll[1], "1 × 64", "{epoll:?}");
    let uring = util::table_row(&out.stdout, "uring");
    assert!(uring.contains("unavailable"), "{uring}");
    // Every line of the terminal table fits in 100 columns.
    for line in out.stdout.lines().filter(|l| l.starts_with('|')) {
        assert!(line.chars().count() <= 100, "{line}");
    }
    // The last line names the chart.
    let last = out.stderr.trim_end().lines().last().unwrap_or("");
    assert!(last.contains("chart.svg"), "{last}");

    let dir = util::only_run_dir(&out_dir)?;
    for file in [
        "results.md",
        "runs.csv",
        "summary.csv",
        "results.json",
        "chart.svg",
        "setup.md",
    ] {
        let text = std::fs::read_to_string(dir.join(file))?;
        assert!(!text.is_empty(), "{file} is empty");
    }
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("results.json"))?)
            .map_err(io::Error::other)?;
    let rows = json["summary"]["rows"].as_array().expect("rows");
    let epoll_row = rows
        .iter()
        .find(|r| r["model"] == "epoll")
        .expect("epoll row");
    assert!(epoll_row["requests_per_sec"].as_f64().unwrap() > 0.0);
    assert!(std::fs::read_to_string(dir.join("chart.svg"))?.contains("<svg"));
    assert!(
        std::fs::read_to_string(dir.join("runs.csv"))?
            .lines()
            .count()
            >= 3
    );
    std::fs::remove_dir_all(&out_dir)?;
    Ok(())
}

#[test]
fn bad_lab_arguments_exit_2() -> io::Result<()> {
    for args in [
        &["lab", "--models", "fibers"][..],
        &["lab", "--conns", "0"],
        &["lab", "--runs", "x"],
    ] {
        let out = run(args, LIMIT)?;
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", out.stderr);
        assert_eq!(out.stderr.lines().count(), 1, "{args:?}: {}", out.stderr);
    }
    Ok(())
}
