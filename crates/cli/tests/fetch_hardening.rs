//! Regression tests for `c10k fetch` (issue 9, points 5 and 6): redirects resolved as RFC
//! 3986 says, an empty `Location`, a line of `-i FILE` that is not UTF-8, and the exit code
//! for URLs that end in an error status.

mod http_util;

use std::io::{self, BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};

use http_util::{run, LIMIT};

/// A keep-alive server answering by path, on its own threads; at most `max_conns`
/// connections, then its accept loop ends.
fn server(max_conns: usize) -> io::Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    std::thread::spawn(move || {
        for stream in listener.incoming().take(max_conns) {
            let Ok(stream) = stream else { continue };
            std::thread::spawn(move || serve(stream));
        }
    });
    Ok(addr)
}

fn serve(stream: TcpStream) -> io::Result<()> {
    stream.set_read_timeout(Some(LIMIT))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut out = stream;
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line)? == 0 {
            return Ok(());
        }
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line)? == 0 {
                return Ok(());
            }
            if line == "\r\n" {
                break;
            }
        }
        let answer: &[u8] = match request_line.split(' ').nth(1).unwrap_or("/") {
            "/query-redirect" => {
                b"HTTP/1.1 302 Found\r\nLocation: /ok?next=http://elsewhere.invalid/\r\nContent-Length: 0\r\n\r\n"
            }
            "/ok?next=http://elsewhere.invalid/" => {
                b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nhere"
            }
            "/empty-location" => b"HTTP/1.1 302 Found\r\nLocation: \r\nContent-Length: 0\r\n\r\n",
            "/ok" => b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
            "/gone" => b"HTTP/1.1 410 Gone\r\nContent-Length: 0\r\n\r\n",
            _ => b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n",
        };
        out.write_all(answer)?;
    }
}

fn json(stdout: &str) -> serde_json::Value {
    serde_json::from_str(stdout).unwrap_or_else(|e| panic!("bad JSON ({e}): {stdout}"))
}

/// `Location: /ok?next=http://x/` is an absolute path on the same host; it was taken for an
/// absolute URL because it contains `://`.
#[test]
fn a_url_in_the_query_of_a_location_stays_on_the_same_host() -> io::Result<()> {
    let addr = server(4)?;
    let url = format!("http://{addr}/query-redirect");
    let out = run(&["fetch", "--json", &url], LIMIT)?;
    assert!(out.status.success(), "{}", out.stderr);
    let r = &json(&out.stdout)["results"][0];
    assert_eq!(
        (r["status"].as_u64(), r["bytes"].as_u64()),
        (Some(200), Some(4)),
        "{r}"
    );
    assert_eq!(
        r["final_url"],
        format!("http://{addr}/ok?next=http://elsewhere.invalid/").as_str()
    );
    Ok(())
}

/// An empty `Location` resolved to the same URL and looped to the redirect limit.
#[test]
fn an_empty_location_is_an_error_not_a_loop() -> io::Result<()> {
    let addr = server(4)?;
    let url = format!("http://{addr}/empty-location");
    let out = run(&["fetch", "--json", &url], LIMIT)?;
    assert_eq!(out.status.code(), Some(1), "{}", out.stderr);
    let r = &json(&out.stdout)["results"][0];
    assert!(
        r["error"]
            .as_str()
            .is_some_and(|e| e.contains("empty Location")),
        "{r}"
    );
    assert_eq!(r["redirects"], 0, "{r}");
    Ok(())
}

/// One line of `-i FILE` that is not UTF-8 aborted the whole batch; now it is reported with
/// its line number, counted as failed, and the other lines are fetched.
#[test]
fn a_line_that_is_not_utf8_is_reported_and_the_batch_goes_on() -> io::Result<()> {
    let addr = server(8)?;
    let list = std::env::temp_dir().join(format!("c10k-fetch-utf8-{}.txt", std::process::id()));
    let mut text = format!("# urls\nhttp://{addr}/ok\n").into_bytes();
    text.extend_from_slice(b"http://h/\xff\xfe\n");
    text.extend_from_slice(format!("http://{addr}/ok\n").as_bytes());
    std::fs::write(&list, text)?;
    let out = run(
        &["fetch", "--json", "-i", list.to_str().expect("utf-8")],
        LIMIT,
    )?;
    std::fs::remove_file(&list)?;
    assert_eq!(out.status.code(), Some(1), "{}", out.stderr);
    let v = json(&out.stdout);
    let results = v["results"].as_array().expect("results");
    assert_eq!(results.len(), 3, "{v}");
    assert_eq!(results[0]["status"], 200);
    assert_eq!(results[2]["status"], 200);
    assert!(
        results[1]["error"]
            .as_str()
            .is_some_and(|e| e.contains("line 3 of ") && e.contains("not valid UTF-8")),
        "{}",
        results[1]
    );
    assert!(out.stderr.contains("line 3 of "), "{}", out.stderr);
    assert_eq!(v["summary"]["failed"], 1);
    Ok(())
}

/// A batch whose URLs all ended in 404 exited 0; now any status of 400 or more makes it 1
/// unless `--ok-status` accepts it.
#[test]
fn error_statuses_exit_1_unless_accepted() -> io::Result<()> {
    let addr = server(16)?;
    let ok = format!("http://{addr}/ok");
    let missing = format!("http://{addr}/missing");
    let gone = format!("http://{addr}/gone");
    let out = run(&["fetch", &ok, &missing, &gone], LIMIT)?;
    assert_eq!(out.status.code(), Some(1), "{}", out.stderr);
    assert!(
        out.stderr
            .contains(&format!("c10k: fetch {missing}: status 404")),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("2 of 3 ended in an error status"),
        "{}",
        out.stderr
    );
    assert!(
        out.stdout.contains("1 ok, 2 error status, 0 failed"),
        "{}",
        out.stdout
    );
    let out = run(
        &["fetch", "--ok-status", "404,410", &ok, &missing, &gone],
        LIMIT,
    )?;
    assert!(out.status.success(), "{}", out.stderr);
    assert!(
        out.stdout.contains("3 ok, 0 error status"),
        "{}",
        out.stdout
    );
    let out = run(&["fetch", "--ok-status", "404", &missing, &gone], LIMIT)?;
    assert_eq!(
        out.status.code(),
        Some(1),
        "410 is still an error: {}",
        out.stderr
    );
    let out = run(&["fetch", "--ok-status", "nope", &ok], LIMIT)?;
    assert_eq!(out.status.code(), Some(2), "{}", out.stderr);
    Ok(())
}
