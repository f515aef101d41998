//! Detecting the installed version (`plan` without `--from`): rpm, VERSION.txt, the API.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;

use canopsis_upgrade_test_support::site::{plan_json, stderr, Site};

/// Serves one fixed HTTP answer per connection, forever, on a free port; returns the base URL.
fn serve(status: &'static str, body: &'static str) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let mut stream = stream.unwrap();
            let mut buf = [0u8; 4096];
            let n = stream.read(&mut buf).unwrap_or(0);
            let request = String::from_utf8_lossy(&buf[..n]);
            let (status, body) = if request.starts_with("GET /api/v4/app-info ") {
                (status, body)
            } else {
                ("404 Not Found", "{\"error\":\"not found\"}")
            };
            let answer = format!(
                "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(answer.as_bytes());
        }
    });
    url
}

#[test]
fn the_version_file_answers() {
    let site = Site::new("");
    let file = site.write("VERSION.txt", "4.4.0\n");
    let config = format!(
        "[detect]\nsources = [\"version-file\"]\nversion_file = \"{}\"\n",
        file.display()
    );
    let site2 = Site::new(&config);
    let plan = plan_json(&site2, &["--to", "4.5.0"]);
    assert_eq!(plan["from"], "4.4.0");
}

#[test]
fn the_api_answers_with_version_and_edition() {
    let url = serve(
        "200 OK",
        r#"{"version":"23.10.2","edition":"community","stack":"go"}"#,
    );
    let site = Site::new(&format!(
        "[install]\napi_url = \"{url}\"\n[detect]\nsources = [\"api\"]\n"
    ));
    let plan = plan_json(&site, &["--to", "23.10.3"]);
    assert_eq!(plan["from"], "23.10.2");
}

#[test]
fn an_edition_mismatch_is_refused() {
    let url = serve("200 OK", r#"{"version":"23.10.2","edition":"pro"}"#);
    let site = Site::new(&format!(
        "[install]\napi_url = \"{url}\"\n[detect]\nsources = [\"api\"]\n"
    ));
    let output = site.run(&["plan", "--to", "23.10.3"]);
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("the installed edition is pro"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn rpm_answers_first_and_tells_the_edition() {
    let site = Site::new("[install]\nedition = \"pro\"\n[detect]\nsources = [\"rpm\"]\n");
    let bin = site.path("bin");
    std::fs::create_dir_all(&bin).unwrap();
    // Stand-in for rpm -q --queryformat %{VERSION} PACKAGE.
    let rpm = bin.join("rpm");
    std::fs::write(
        &rpm,
        "#!/bin/sh\nfor last; do :; done\nif [ \"$last\" = canopsis-pro ]; then printf 4.5.3; exit 0; fi\necho \"package $last is not installed\"; exit 1\n",
    )
    .unwrap();
    std::fs::set_permissions(&rpm, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    let output = site
        .command(&["plan", "--format", "json", "--to", "4.5.4"])
        .env("PATH", path)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let plan: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(plan["from"], "4.5.3");
    assert_eq!(plan["edition"], "pro");
}

#[test]
fn when_nothing_answers_every_reason_is_given() {
    let url = serve("500 Internal Server Error", "{}");
    let site = Site::new(&format!(
        "[install]\napi_url = \"{url}\"\n[detect]\nsources = [\"rpm\", \"version-file\", \"api\"]\nversion_file = \"/nonexistent/VERSION.txt\"\ntimeout = \"2s\"\n"
    ));
    let output = site
        .command(&["plan", "--to", "4.5.0"])
        .env("PATH", "/nonexistent")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let err = stderr(&output);
    assert!(
        err.contains("cannot tell the installed Canopsis version"),
        "{err}"
    );
    assert!(err.contains("rpm: cannot run rpm"), "{err}");
    assert!(
        err.contains("version-file: /nonexistent/VERSION.txt"),
        "{err}"
    );
    assert!(err.contains("api: ") && err.contains("500"), "{err}");
    assert!(err.contains("give it with --from"), "{err}");
}

#[test]
fn garbage_from_the_api_is_a_clear_error() {
    let url = serve("200 OK", "<html>maintenance</html>");
    let site = Site::new(&format!(
        "[install]\napi_url = \"{url}\"\n[detect]\nsources = [\"api\"]\n"
    ));
    let output = site.run(&["plan", "--to", "4.5.0"]);
    assert!(
        stderr(&output).contains("app-info is not the expected JSON"),
        "{}",
        stderr(&output)
    );
}
