//! Every shell script the tree runs, checked by ShellCheck for the shell that runs it: the
//! `sh -c` / `bash -c` scripts of containers, init containers and exec probes (in workloads and
//! in operators' custom resources alike) and the `*.sh` files of ConfigMaps. The scripts' text
//! lives in `*.sh` templates beside the code that mounts them (`src/scripts/`,
//! `src/components/<name>/`); what runs is the filled text, so that is what is checked. A script
//! `sh` runs must be POSIX (the image's /bin/sh may be dash or busybox), so bash-only syntax
//! there is an error.
//! ShellCheck comes from Debian (`.ci/install-ops.sh`); without it the test says SKIPPED, and
//! fails when CI=true.

use crate::common;

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::Value;

fn shellcheck_present() -> bool {
    if Command::new("shellcheck")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
    {
        return true;
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "shellcheck not found in CI (.ci/install-ops.sh installs it)"
    );
    eprintln!(
        "\n**************************************************************************\n\
         SKIPPED: shellcheck not found (apt-get install shellcheck, see .ci/install-ops.sh)\n\
         **************************************************************************"
    );
    false
}

/// One script: where it is, the shell that runs it, and its text.
struct Script {
    at: String,
    shell: &'static str,
    text: String,
}

fn shell_of(program: &str) -> Option<&'static str> {
    match program.rsplit('/').next().unwrap_or(program) {
        "sh" | "ash" | "dash" => Some("sh"),
        "bash" => Some("bash"),
        _ => None,
    }
}

/// `[sh|bash, -c…, SCRIPT, …]`: the script of an argv, when it runs one.
fn script_of(argv: &[&str]) -> Option<(&'static str, String)> {
    let shell = shell_of(argv.first()?)?;
    let mut rest = argv[1..].iter();
    // Options before the script (`-c`, `-ec`, `-euc`, `-o pipefail -c`).
    let mut saw_c = false;
    for a in rest.by_ref() {
        if a.starts_with('-') {
            saw_c |= !a.starts_with("--") && a.contains('c');
            if saw_c {
                break;
            }
        } else if a == &"pipefail" || a == &"errexit" {
            continue;
        } else {
            return None;
        }
    }
    if !saw_c {
        return None;
    }
    rest.next().map(|s| (shell, (*s).to_string()))
}

fn collect(v: &Value, at: &str, out: &mut Vec<Script>) {
    match v {
        Value::Object(m) => {
            // A container (`command` + `args`) or an exec probe (`command`).
            let strings = |k: &str| -> Vec<&str> {
                m.get(k)
                    .and_then(Value::as_array)
                    .map(|a| a.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default()
            };
            let mut argv = strings("command");
            if !argv.is_empty() {
                argv.extend(strings("args"));
                if let Some((shell, text)) = script_of(&argv) {
                    let who = m.get("name").and_then(Value::as_str).unwrap_or("exec");
                    out.push(Script {
                        at: format!("{at} ({who})"),
                        shell,
                        text,
                    });
                }
            }
            for (k, x) in m {
                collect(x, &format!("{at}/{k}"), out);
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                collect(x, &format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
}

fn scripts(o: &Value) -> Vec<Script> {
    let mut out = Vec::new();
    collect(o, &common::name(o), &mut out);
    if common::kind(o) == "ConfigMap" {
        for (k, v) in o["data"].as_object().into_iter().flatten() {
            let Some(text) = v.as_str() else { continue };
            if !k.ends_with(".sh") {
                continue;
            }
            let first = text.lines().next().unwrap_or_default();
            let shell = first
                .strip_prefix("#!")
                .and_then(|l| {
                    let mut w = l.split_whitespace();
                    let p = w.next()?;
                    // `#!/usr/bin/env bash`
                    if p.ends_with("/env") {
                        w.next()
                    } else {
                        Some(p)
                    }
                })
                .and_then(shell_of)
                .unwrap_or("sh");
            out.push(Script {
                at: format!("{} data.{k}", common::name(o)),
                shell,
                text: text.to_string(),
            });
        }
    }
    out
}

fn shellcheck(s: &Script) -> Result<(), String> {
    let mut child = Command::new("shellcheck")
        // Warnings and errors: what breaks or misbehaves, not style.
        .args([
            "--shell",
            s.shell,
            "--severity",
            "warning",
            "--format",
            "gcc",
            "-",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| e.to_string())?;
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(s.text.as_bytes())
        .map_err(|e| e.to_string())?;
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&out.stdout);
    // Container runtimes put HOSTNAME (the pod's name) in every container's environment, so
    // an `sh` script may read it although sh itself does not define it.
    let findings: Vec<&str> = text
        .lines()
        .filter(|l| !(l.contains("[SC3028]") && l.contains("HOSTNAME is undefined")))
        .collect();
    if findings.is_empty() {
        return Ok(());
    }
    Err(format!(
        "{} [{}]:\n{}\n--- script ---\n{}",
        s.at,
        s.shell,
        findings.join("\n"),
        s.text
    ))
}

#[test]
fn every_rendered_shell_script_passes_shellcheck() {
    if !shellcheck_present() {
        return;
    }
    let mut seen = std::collections::BTreeSet::new();
    let mut failures = Vec::new();
    let mut checked = 0;
    for (variant, tree) in common::rendered() {
        for (_, o) in tree.objects() {
            for s in scripts(o) {
                // Variants share most scripts: check each text once per shell.
                if !seen.insert((s.shell, s.text.clone())) {
                    continue;
                }
                checked += 1;
                if let Err(e) = shellcheck(&s) {
                    failures.push(format!("{variant}: {e}"));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {checked} scripts fail ShellCheck:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
    // The tree runs scripts in backups, init containers, probes and jobs: finding few means
    // the collection above lost track of where they are.
    assert!(checked >= 15, "only {checked} scripts found");
    eprintln!("{checked} distinct scripts pass ShellCheck");
}

/// The checker itself: a bash-only construct in an `sh -c` script is reported.
#[test]
fn an_sh_script_with_bash_syntax_is_reported() {
    if !shellcheck_present() {
        return;
    }
    let o = serde_json::json!({
        "kind": "Pod", "metadata": {"name": "p", "namespace": "n"},
        "spec": {"containers": [{"name": "c", "command": ["/bin/sh", "-ec"],
            "args": ["a=(1 2); [[ -n \"${a[0]}\" ]] && echo ok"]}]}
    });
    let found = scripts(&o);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].shell, "sh");
    assert!(
        shellcheck(&found[0]).is_err(),
        "arrays under sh must be reported"
    );
    let mut bash = serde_json::json!(found[0].text);
    let o = serde_json::json!({
        "kind": "Pod", "metadata": {"name": "p", "namespace": "n"},
        "spec": {"containers": [{"name": "c", "command": ["bash", "-c", bash.take()]}]}
    });
    let found = scripts(&o);
    assert_eq!(found[0].shell, "bash");
    assert!(
        shellcheck(&found[0]).is_ok(),
        "the same script is valid bash"
    );
}
