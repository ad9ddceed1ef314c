//! `c10k lab --side-by-side` measures a model and tokio together and reports per-run ratios.

mod util;

use std::io;
use std::time::Duration;

use util::run;

#[test]
fn side_by_side_reports_per_run_ratios_against_tokio() -> io::Result<()> {
    let (out_dir, out_arg) = util::lab_out_dir("lab-side-test");
    // tokio is left out of --models on purpose: side by side adds it.
    let args = [
        "lab",
        "--side-by-side",
        "--models",
        "epoll",
        "--conns",
        "10",
        "--sizes",
        "64",
        "--runs",
        "2",
        "--duration",
        "0.3",
        "--idle",
        "10",
        "--out",
        &out_arg,
    ];
    // Two pairs of 0.3 s plus two server startups; generous for a loaded machine.
    let out = run(&args, Duration::from_secs(120))?;
    assert!(out.status.success(), "{}", out.stderr);
    assert!(out.stdout.contains("Side by side"), "{}", out.stdout);
    let epoll = util::table_cells(util::table_row(&out.stdout, "epoll"));
    assert_eq!(epoll[1], "10 × 64", "{epoll:?}");
    assert_eq!(epoll.last(), Some(&"2"), "{epoll:?}");
    // The table says which way is better and how noisy one run is, within 100 columns.
    assert!(
        out.stdout.contains("Lower is better for CPU/req"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("Noise of one run"), "{}", out.stdout);
    for line in out.stdout.lines() {
        assert!(line.chars().count() <= 100, "{line}");
    }

    let dir = util::only_run_dir(&out_dir)?;
    for file in [
        "results.md",
        "runs.csv",
        "summary.csv",
        "results.json",
        "chart.svg",
        "setup.md",
        "server-epoll.log",
        "server-tokio.log",
    ] {
        assert!(dir.join(file).exists(), "{file} missing");
    }
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("results.json"))?)
            .map_err(io::Error::other)?;
    assert_eq!(json["summary"]["settings"]["mode"], "side-by-side");
    let spread = json["summary"]["one_run_spread"]
        .as_f64()
        .expect("a spread");
    assert!(spread.is_finite() && spread >= 0.0, "{spread}");
    let pairs = json["summary"]["pairs"].as_array().expect("pair rows");
    assert_eq!(pairs.len(), 1, "one model, one cell: {pairs:?}");
    let row = &pairs[0];
    assert_eq!(row["model"], "epoll");
    assert_eq!(row["status"], "ok", "{row}");
    assert_eq!(row["runs"], 2, "{row}");
    let cpu = &row["cpu_per_request"];
    let median = cpu["median"].as_f64().expect("a CPU ratio");
    assert!(median.is_finite() && median > 0.0, "{cpu}");
    assert!(cpu["min"].as_f64().unwrap() <= median, "{cpu}");
    assert!(cpu["max"].as_f64().unwrap() >= median, "{cpu}");
    assert!(row["p99"]["median"].as_f64().unwrap() > 0.0, "{row}");

    // Every run: one pair with its ratios, alternating which generator starts first.
    let per_run = json["pairs"].as_array().expect("per-run pairs");
    assert_eq!(per_run.len(), 2);
    assert_eq!(per_run[0]["first"], "epoll");
    assert_eq!(per_run[1]["first"], "tokio");

    // runs.csv: a row per server per run, tagged with the pair.
    let csv = std::fs::read_to_string(dir.join("runs.csv"))?;
    // `pair` is the second last column (fields before it may be quoted text).
    let pair_of = |line: &str| line.rsplit(',').nth(1).unwrap_or("").to_owned();
    assert_eq!(pair_of(csv.lines().next().unwrap_or("")), "pair");
    let rows: Vec<&str> = csv.lines().skip(1).collect();
    assert_eq!(rows.len(), 4, "{csv}");
    for model in ["epoll", "tokio"] {
        let of_model: Vec<_> = rows
            .iter()
            .filter(|r| r.starts_with(&format!("{model},")))
            .collect();
        assert_eq!(of_model.len(), 2, "{csv}");
        assert!(of_model.iter().all(|r| pair_of(r) == "epoll"), "{csv}");
    }
    assert!(std::fs::read_to_string(dir.join("setup.md"))?.contains("side by side"));
    // Regression (issue 9, point 10): the lab paused every server with SIGSTOP, and a
    // runtime server stopped in the middle of a task's poll reported a long poll when it
    // resumed. No server the lab runs may log one.
    for log in ["server-epoll.log", "server-tokio.log"] {
        let text = std::fs::read_to_string(dir.join(log))?;
        assert!(!text.contains("in a single poll"), "{log}: {text}");
    }
    assert!(std::fs::read_to_string(dir.join("chart.svg"))?.contains("<svg"));
    std::fs::remove_dir_all(&out_dir)?;
    Ok(())
}
