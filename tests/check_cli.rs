//! `check`: every bundled script compiles and dry-runs; bad scripts are all reported, located.

use canopsis_upgrade_test_support::site::{stderr, stdout, Site};

#[test]
fn the_bundled_scripts_pass() {
    for extra in [
        "",
        "[install]\nedition = \"pro\"\n",
        "[install]\nmethod = \"compose\"\ncompose_dir = \"/srv/canopsis\"\n",
        "[install]\nmethod = \"compose\"\nedition = \"pro\"\ncompose_dir = \"/srv/canopsis\"\n",
    ] {
        let site = Site::new(extra);
        let output = site.run(&["check"]);
        assert!(output.status.success(), "{extra}: {}", stderr(&output));
        assert!(
            stdout(&output).contains("ok bundled:standard.rhai"),
            "{}",
            stdout(&output)
        );
    }
}

#[test]
fn every_error_is_reported_with_file_line_and_column() {
    let site = Site::new("");
    let syntax = site.write(
        "releases.d/4.5.1.rhai",
        "fn after_update() {\n    let x = ;\n}\n",
    );
    let sandbox = site.write(
        "releases.d/4.5.3.rhai",
        "// tries to escape\nfn before_update() {\n    log(\"x\");\n    run(\"sh\", [\"-c\", \"rm -rf /\"]);\n}\n",
    );
    let unknown = site.write("releases.d/9.9.9.rhai", "fn after_update() {}\n");
    let output = site.run(&["check"]);
    assert_eq!(output.status.code(), Some(1));
    let err = stderr(&output);
    assert!(err.contains(&format!("{}:2:", syntax.display())), "{err}");
    assert!(
        err.contains(&format!(
            "{}:4:5: sandbox: program sh is not allowed",
            sandbox.display()
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "{}: 9.9.9 is not a release of the catalog",
            unknown.display()
        )),
        "{err}"
    );
    assert!(
        stdout(&output).contains("3 error(s)"),
        "{}",
        stdout(&output)
    );
}

#[test]
fn named_files_are_checked_alone() {
    let site = Site::new("");
    let good = site.write(
        "work/site-ldap.rhai",
        "fn after_update() { unit_restart(\"canopsis-ldap\"); }\n",
    );
    let bad = site.write(
        "work/import.rhai",
        "import \"os\" as os;\nfn after_update() {}\n",
    );
    let output = site.run(&["check", good.to_str().unwrap(), bad.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stdout(&output).contains("2 script(s) checked, 1 error(s)"),
        "{}",
        stdout(&output)
    );
    assert!(
        stderr(&output).contains(&format!("{}:1:1: syntax error", bad.display())),
        "{}",
        stderr(&output)
    );
}

#[test]
fn api_doc_lists_what_is_registered() {
    let site = Site::new("");
    let output = site.run(&["api-doc"]);
    assert!(output.status.success());
    let doc = stdout(&output);
    for signature in [
        "`ensure_line(path: string, line: string, prefix: string)`",
        "`run(program: string, args: array, options: map) -> map`",
        "`manual(text: string)`",
        "`to() -> Version`",
    ] {
        assert!(doc.contains(signature), "{signature} missing from:\n{doc}");
    }
    let json = site.run(&["api-doc", "--format", "json"]);
    let docs: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert!(docs.as_array().unwrap().len() > 30);
}
