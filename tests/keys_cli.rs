//! The command line with keys, as an operator uses it: `tideline keys` and `tideline audit`,
//! import and the reading commands with `--api-key` / `TIDELINE_API_KEY`, `serve` refusing to
//! start without a key (and `--no-auth` off loopback), and the whole path over TLS with a
//! certificate made here.

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use common::{keyed_config, TestServer, ADMIN_KEY};

/// Runs `tideline ARGS` with `env` set and the client's variables otherwise cleared.
async fn tideline(args: Vec<String>, env: Vec<(&'static str, String)>) -> Output {
    tokio::task::spawn_blocking(move || {
        let mut command = Command::new(common::tideline_binary());
        for var in [
            "TIDELINE_SERVER",
            "TIDELINE_WORKSPACE",
            "TIDELINE_API_KEY",
            "TIDELINE_CA_FILE",
            "TIDELINE_BOOTSTRAP_KEY",
        ] {
            command.env_remove(var);
        }
        command.args(&args).envs(env).output().unwrap()
    })
    .await
    .unwrap()
}

fn args(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The output of a run that must succeed.
fn ok(output: Output) -> String {
    assert!(
        output.status.success(),
        "failed: {}{}",
        text(&output.stdout),
        text(&output.stderr)
    );
    text(&output.stdout)
}

/// The standard error of a run that must fail.
fn refused(output: Output) -> String {
    assert!(
        !output.status.success(),
        "succeeded: {}",
        text(&output.stdout)
    );
    text(&output.stderr)
}

#[tokio::test]
async fn keys_audit_import_and_reading_commands_work_with_keys() {
    let dir = tempfile::tempdir().unwrap();
    let t = TestServer::start_with(keyed_config(dir.path())).await;
    let server = format!("http://{}", t.server.local_addr());
    let admin = vec![("TIDELINE_API_KEY", ADMIN_KEY.to_string())];
    let with = |more: &[&str]| {
        let mut all = args(more);
        all.extend(["--server".to_string(), server.clone()]);
        all
    };

    // Create an ingest+read key and a read-only key for workspace acme.
    let created: serde_json::Value = serde_json::from_str(&ok(tideline(
        with(&[
            "keys",
            "create",
            "--workspace",
            "acme",
            "--scopes",
            "ingest,read",
            "--json",
        ]),
        admin.clone(),
    )
    .await))
    .unwrap();
    let (id, key) = (
        created["id"].as_str().unwrap().to_string(),
        created["key"].as_str().unwrap().to_string(),
    );
    assert_eq!(created["workspace"], "acme");
    assert_eq!(created["scopes"], serde_json::json!(["ingest", "read"]));
    let plain = ok(tideline(
        with(&["keys", "create", "--workspace", "acme", "--scopes", "read"]),
        admin.clone(),
    )
    .await);
    let read_key = plain.trim().to_string();
    assert!(read_key.starts_with("tl_"), "{plain}");

    // Import with the key; a wrong key and a read-only key fail, and say why.
    let csv = dir.path().join("feedback.csv");
    std::fs::write(
        &csv,
        "id,text\n1,the refund took three weeks\n2,love the new dashboard\n3,refund still missing\n",
    )
    .unwrap();
    let csv = csv.to_str().unwrap();
    let import = |key: &str| {
        with(&[
            "import",
            csv,
            "--id-col",
            "id",
            "--workspace",
            "acme",
            "--json",
            "--api-key",
            key,
        ])
    };
    let summary: serde_json::Value =
        serde_json::from_str(&ok(tideline(import(&key), vec![]).await)).unwrap();
    assert_eq!(summary["imported"], 3, "{summary}");
    let wrong = refused(tideline(import("WRONG"), vec![]).await);
    assert!(wrong.contains("api key"), "{wrong}");
    let read_only = refused(tideline(import(&read_key), vec![]).await);
    assert!(read_only.contains("lacks the ingest scope"), "{read_only}");

    // Reading commands take the key from the environment; another workspace is refused.
    // The import does not wait for the index; searching does not start before it has caught up.
    for _ in 0..200 {
        if t.count("acme", Default::default()).await == 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let found = ok(tideline(
        with(&["search", "refund", "--workspace", "acme"]),
        vec![("TIDELINE_API_KEY", key.clone())],
    )
    .await);
    assert!(found.contains("refund"), "{found}");
    let elsewhere = refused(
        tideline(
            with(&["search", "refund", "--workspace", "other"]),
            vec![("TIDELINE_API_KEY", key.clone())],
        )
        .await,
    );
    assert!(
        elsewhere.contains("works in workspace acme only"),
        "{elsewhere}"
    );

    // List, revoke, and the revoked key stops at once.
    let listed = ok(tideline(with(&["keys", "list", "--json"]), admin.clone()).await);
    assert!(listed.contains(&id) && !listed.contains(&key), "{listed}");
    ok(tideline(with(&["keys", "revoke", &id]), admin.clone()).await);
    let revoked = refused(
        tideline(
            with(&["search", "refund", "--workspace", "acme", "--api-key", &key]),
            vec![],
        )
        .await,
    );
    assert!(revoked.contains("unknown or revoked api key"), "{revoked}");
    let table = ok(tideline(with(&["keys", "list", "--revoked"]), admin.clone()).await);
    assert!(
        table
            .lines()
            .any(|l| l.starts_with(&id) && l.contains(" yes ")),
        "{table}"
    );

    // The audit log names who did what, without key material or verbatim text.
    let audit: serde_json::Value =
        serde_json::from_str(&ok(
            tideline(with(&["audit", "--json"]), admin.clone()).await
        ))
        .unwrap();
    let rpcs: Vec<&str> = audit
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["rpc"].as_str().unwrap())
        .collect();
    assert_eq!(
        rpcs,
        [
            "KeyService/RevokeKey",
            "KeyService/CreateKey",
            "KeyService/CreateKey"
        ],
        "{audit}"
    );
    assert!(audit
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["key_id"] == "bootstrap"));
    let raw = audit.to_string();
    assert!(!raw.contains(&key) && !raw.contains(&read_key) && !raw.contains("refund"));
    let human = ok(tideline(with(&["audit", "--rpc", "KeyService/RevokeKey"]), admin).await);
    assert!(
        human.contains(&id) && human.contains("1 of 1 events"),
        "{human}"
    );
    t.stop().await;
}

/// `tideline serve` on `data_dir` with `extra` flags and `env`: the first stdout line, or the
/// failure's standard error.
fn serve(
    data_dir: &Path,
    extra: &[&str],
    env: &[(&str, &str)],
) -> Result<(String, common::ServeProcess), String> {
    let log = tempfile::NamedTempFile::new().unwrap();
    let mut command = Command::new(common::tideline_binary());
    command
        .arg("serve")
        .arg("--data-dir")
        .arg(data_dir)
        .args(["--http-listen", "127.0.0.1:0"])
        .args(extra)
        .env_remove("TIDELINE_BOOTSTRAP_KEY")
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(log.reopen().unwrap());
    let mut child = command.spawn().unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    if line.is_empty() {
        child.wait().unwrap();
        return Err(std::fs::read_to_string(log.path()).unwrap());
    }
    let addr = line.trim().rsplit(' ').next().unwrap().parse().unwrap();
    Ok((line, common::ServeProcess { child, addr, log }))
}

#[tokio::test]
async fn serve_needs_a_key_and_no_auth_only_serves_loopback() {
    let dir = tempfile::tempdir().unwrap();
    let loopback = ["--listen", "127.0.0.1:0"];
    let no_key = serve(dir.path(), &loopback, &[]).unwrap_err();
    assert!(no_key.contains("TIDELINE_BOOTSTRAP_KEY"), "{no_key}");
    let exposed = serve(dir.path(), &["--listen", "0.0.0.0:0", "--no-auth"], &[]).unwrap_err();
    assert!(exposed.contains("loopback"), "{exposed}");
    let short = serve(
        dir.path(),
        &loopback,
        &[("TIDELINE_BOOTSTRAP_KEY", "short")],
    )
    .unwrap_err();
    assert!(short.contains("at least 16 characters"), "{short}");

    // A key file works, and so does --no-auth on loopback.
    let key_file = dir.path().join("bootstrap.key");
    std::fs::write(&key_file, "file-bootstrap-key-0123456789\n").unwrap();
    let mut flags = loopback.to_vec();
    flags.extend(["--bootstrap-key-file", key_file.to_str().unwrap()]);
    let (_, process) = serve(dir.path(), &flags, &[]).unwrap();
    let server = format!("http://{}", process.addr);
    ok(tideline(
        args(&[
            "keys",
            "list",
            "--server",
            &server,
            "--api-key",
            "file-bootstrap-key-0123456789",
        ]),
        vec![],
    )
    .await);
    let anonymous = refused(tideline(args(&["keys", "list", "--server", &server]), vec![]).await);
    assert!(anonymous.contains("missing api key"), "{anonymous}");
    drop(process);
    let (_, open) = serve(dir.path(), &["--listen", "127.0.0.1:0", "--no-auth"], &[]).unwrap();
    let server = format!("http://{}", open.addr);
    ok(tideline(args(&["search", "anything", "--server", &server]), vec![]).await);
}

/// A certificate authority and a server certificate it signed for localhost and 127.0.0.1, as
/// PEM files in `dir`: (ca, cert, key).
fn certificates(dir: &Path) -> (String, String, String) {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair, SanType};
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_key = KeyPair::generate().unwrap();
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);
    let mut params = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    params
        .subject_alt_names
        .push(SanType::IpAddress("127.0.0.1".parse().unwrap()));
    let key = KeyPair::generate().unwrap();
    let cert = params.signed_by(&key, &issuer).unwrap();
    let write = |name: &str, pem: String| {
        let path = dir.join(name);
        std::fs::write(&path, pem).unwrap();
        path.to_str().unwrap().to_string()
    };
    (
        write("ca.pem", ca.pem()),
        write("server.pem", cert.pem()),
        write("server.key", key.serialize_pem()),
    )
}

#[tokio::test]
async fn the_server_speaks_tls_and_the_cli_trusts_a_ca_file() {
    let dir = tempfile::tempdir().unwrap();
    let (ca, cert, key) = certificates(dir.path());
    let (_, process) = serve(
        &dir.path().join("data"),
        &[
            "--listen",
            "127.0.0.1:0",
            "--tls-cert",
            &cert,
            "--tls-key",
            &key,
        ],
        &[("TIDELINE_BOOTSTRAP_KEY", ADMIN_KEY)],
    )
    .unwrap();
    let port = process.addr.port();
    let admin = vec![("TIDELINE_API_KEY", ADMIN_KEY.to_string())];
    for host in ["localhost", "127.0.0.1"] {
        let server = format!("https://{host}:{port}");
        let listed = ok(tideline(
            args(&["keys", "list", "--server", &server, "--ca-file", &ca]),
            admin.clone(),
        )
        .await);
        assert!(listed.contains("0 keys"), "{listed}");
    }
    // Without the CA the certificate is not trusted; plain HTTP/2 gets no answer.
    let untrusted = refused(
        tideline(
            args(&[
                "keys",
                "list",
                "--server",
                &format!("https://localhost:{port}"),
            ]),
            admin.clone(),
        )
        .await,
    );
    assert!(
        untrusted.contains("cannot connect") || untrusted.contains("transport error"),
        "{untrusted}"
    );
    let plain = tideline(
        args(&[
            "keys",
            "list",
            "--server",
            &format!("http://127.0.0.1:{port}"),
        ]),
        admin,
    )
    .await;
    assert!(!plain.status.success(), "plain http/2 was answered");
    // The import tool takes the CA file too.
    let csv = dir.path().join("rows.csv");
    std::fs::write(&csv, "text\nthe export button is broken\n").unwrap();
    let summary: serde_json::Value = serde_json::from_str(&ok(tideline(
        args(&[
            "import",
            csv.to_str().unwrap(),
            "--server",
            &format!("https://localhost:{port}"),
            "--ca-file",
            &ca,
            "--json",
        ]),
        vec![("TIDELINE_API_KEY", ADMIN_KEY.to_string())],
    )
    .await))
    .unwrap();
    assert_eq!(summary["imported"], 1, "{summary}");
}
