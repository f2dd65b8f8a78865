//! `tideline import` end to end: the real binary against a real server on a loopback port.
//! Mapping flags for CSV and JSON Lines, bad rows and the error report, `--strict`, resuming an
//! interrupted import, delimiter sniffing, standard input, `--dry-run`, and plain progress output.

mod common;

use std::io::Write;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use common::TestServer;
use tideline::proto::{
    self, GetVerbatimRequest, IngestVerbatimsRequest, SearchFilter, SearchVerbatimsRequest,
};

/// What a finished `tideline` run printed.
struct Run {
    status: ExitStatus,
    stdout: String,
    stderr: String,
}

impl Run {
    /// The `--json` summary (the last line of standard output).
    fn summary(&self) -> serde_json::Value {
        let last = self.stdout.lines().last().unwrap_or_default();
        serde_json::from_str(last).unwrap_or_else(|e| {
            panic!(
                "no json summary ({e}); stdout: {}\nstderr: {}",
                self.stdout, self.stderr
            )
        })
    }

    /// `(read, imported, duplicates, rejected)` from the summary.
    fn counts(&self) -> (u64, u64, u64, u64) {
        let s = self.summary();
        let count = |key: &str| s[key].as_u64().unwrap();
        (
            count("read"),
            count("imported"),
            count("duplicates"),
            count("rejected"),
        )
    }
}

/// Starts `tideline ARGS` with piped standard streams and none of the client's variables set.
fn spawn_tideline(args: &[String]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_tideline"))
        .args(args)
        .env_remove("TIDELINE_SERVER")
        .env_remove("TIDELINE_WORKSPACE")
        .env_remove("TIDELINE_API_KEY")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the tideline binary starts")
}

/// Runs `tideline ARGS` to the end with `stdin` as standard input.
async fn tideline(args: Vec<String>, stdin: Vec<u8>) -> Run {
    tokio::task::spawn_blocking(move || {
        let mut child = spawn_tideline(&args);
        let mut input = child.stdin.take().unwrap();
        // A separate writer, so a large input cannot deadlock against a full output pipe.
        let writer = std::thread::spawn(move || {
            let _ = input.write_all(&stdin);
        });
        let output = child.wait_with_output().unwrap();
        writer.join().unwrap();
        Run {
            status: output.status,
            stdout: String::from_utf8(output.stdout).unwrap(),
            stderr: String::from_utf8(output.stderr).unwrap(),
        }
    })
    .await
    .unwrap()
}

fn import_args(t: &TestServer, args: &[&str]) -> Vec<String> {
    let mut all = vec![
        "import".to_string(),
        "--server".to_string(),
        format!("http://{}", t.server.local_addr()),
    ];
    all.extend(args.iter().map(|a| a.to_string()));
    all
}

/// Every per-row field column the test files carry (source, customer, account, language, the
/// three scores and all five tag dimensions), as flags.
const FIELD_COLUMN_FLAGS: &[&str] = &[
    "--source-col",
    "channel",
    "--customer-col",
    "customer",
    "--account-col",
    "account",
    "--language-col",
    "lang",
    "--nps-col",
    "nps",
    "--csat-col",
    "csat",
    "--ces-col",
    "ces",
    "--tag-col",
    "journey_stage=stage",
    "--tag-col",
    "driver=drv",
    "--tag-col",
    "product_area=areas",
    "--tag-col",
    "severity=sev",
    "--tag-col",
    "sentiment=mood",
];

/// `tideline import --server <t> ARGS` with a JSON summary.
async fn import(t: &TestServer, args: &[&str]) -> Run {
    import_with_stdin(t, args, Vec::new()).await
}

async fn import_with_stdin(t: &TestServer, args: &[&str], stdin: Vec<u8>) -> Run {
    let mut args = import_args(t, args);
    args.push("--json".into());
    tideline(args, stdin).await
}

fn write(dir: &Path, name: &str, content: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, content).unwrap();
    path.to_str().unwrap().to_string()
}

async fn count(t: &TestServer, workspace: &str) -> usize {
    t.server.engine().count(workspace).await.unwrap()
}

/// Returns once everything stored so far is searchable.
async fn index_barrier(t: &mut TestServer) {
    t.ingest
        .ingest_verbatims(IngestVerbatimsRequest {
            workspace: "barrier".into(),
            items: vec![common::item("index barrier")],
            wait_for_index: true,
        })
        .await
        .unwrap();
}

/// The one verbatim of `customer` in `workspace`, found by search and read with GetVerbatim.
async fn verbatim_of(t: &mut TestServer, workspace: &str, customer: &str) -> proto::Verbatim {
    index_barrier(t).await;
    let hits = t
        .verbatims
        .search_verbatims(SearchVerbatimsRequest {
            workspace: workspace.into(),
            filter: Some(SearchFilter {
                customer_id: customer.into(),
                ..Default::default()
            }),
            page_size: 10,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .hits;
    assert_eq!(hits.len(), 1, "verbatims of {customer}");
    let id = hits[0].verbatim.as_ref().unwrap().id.clone();
    t.verbatims
        .get_verbatim(GetVerbatimRequest {
            workspace: workspace.into(),
            id,
        })
        .await
        .unwrap()
        .into_inner()
}

/// Texts of every verbatim in `workspace` (after an index barrier), sorted.
async fn texts(t: &mut TestServer, workspace: &str) -> Vec<String> {
    index_barrier(t).await;
    let hits = t
        .verbatims
        .search_verbatims(SearchVerbatimsRequest {
            workspace: workspace.into(),
            page_size: 100,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .hits;
    let mut texts: Vec<String> = hits.into_iter().map(|h| h.verbatim.unwrap().text).collect();
    texts.sort();
    texts
}

fn metadata(v: &proto::Verbatim) -> Vec<(String, String)> {
    let mut pairs: Vec<_> = v.metadata.clone().into_iter().collect();
    pairs.sort();
    pairs
}

fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Checks the tags a row gave, as the server stored them (origin: client).
fn assert_given_tags(
    v: &proto::Verbatim,
    stage: &str,
    driver: &str,
    areas: &[&str],
    severity: &str,
    sentiment: proto::SentimentLabel,
) {
    let client = proto::TagOrigin::Client as i32;
    let tags = v.tags.as_ref().expect("tags");
    let stage_tag = tags.journey_stage.as_ref().unwrap();
    assert_eq!(
        (stage_tag.value.as_str(), stage_tag.origin),
        (stage, client)
    );
    let driver_tag = tags.driver.as_ref().unwrap();
    assert_eq!(
        (driver_tag.value.as_str(), driver_tag.origin),
        (driver, client)
    );
    let area_values: Vec<&str> = tags
        .product_areas
        .iter()
        .map(|a| a.value.as_str())
        .collect();
    assert_eq!(area_values, areas);
    assert!(tags.product_areas.iter().all(|a| a.origin == client));
    let severity_tag = tags.severity.as_ref().unwrap();
    assert_eq!(
        (severity_tag.value.as_str(), severity_tag.origin),
        (severity, client)
    );
    let sentiment_tag = tags.sentiment.as_ref().unwrap();
    assert_eq!(
        (sentiment_tag.label, sentiment_tag.origin),
        (sentiment as i32, client)
    );
}

#[tokio::test]
async fn csv_with_every_mapping_flag_lands_in_the_stored_verbatims() {
    let dir = tempfile::tempdir().unwrap();
    let mut t = TestServer::start(&dir.path().join("data")).await;
    let file = write(
        dir.path(),
        "tickets.csv",
        "ticket,customer,account,body,created,lang,nps,csat,ces,stage,drv,areas,sev,mood,channel,plan,region,ignored\n\
         T-1,c-1,a-1,\"The invoice charged me twice, again\",24/02/2015 11:35 -0800,en,3,2,6,purchase,value,billing|mobile_app,high,negative,ticket,pro,emea,x\n\
         T-2,c-2,a-1,Dashboard is lovely,25/02/2015 09:00 +0000,en-GB,10,5,1,active_use,usability,dashboard,low,positive,,free,amer,y\n",
    );
    let args = [
        &[
            file.as_str(),
            "--workspace",
            "acme",
            "--api-key",
            "k-123",
            "--text-col",
            "body",
            "--id-col",
            "ticket",
            "--time-col",
            "created",
            "--time-format",
            "%d/%m/%Y %H:%M %z",
            "--source",
            "survey",
        ],
        FIELD_COLUMN_FLAGS,
        &["--metadata-cols", "plan,region"],
    ]
    .concat();
    let run = import(&t, &args).await;
    assert!(run.status.success(), "{}", run.stderr);
    assert_eq!(run.counts(), (2, 2, 0, 0));

    let first = verbatim_of(&mut t, "acme", "c-1").await;
    assert_eq!(first.workspace, "acme");
    assert_eq!(first.external_id, "T-1");
    assert_eq!(first.text, "The invoice charged me twice, again");
    // 11:35 at -08:00 is 19:35 UTC.
    assert_eq!(first.created_at.unwrap().seconds, 1_424_777_700 + 8 * 3600);
    assert_eq!(first.source, proto::Source::Ticket as i32);
    assert_eq!(
        (first.account_id.as_str(), first.language.as_str()),
        ("a-1", "en")
    );
    assert_eq!(
        first.scores,
        Some(proto::Scores {
            nps: Some(3),
            csat: Some(2),
            ces: Some(6)
        })
    );
    assert_given_tags(
        &first,
        "purchase",
        "value",
        &["billing", "mobile_app"],
        "high",
        proto::SentimentLabel::Negative,
    );
    assert_eq!(
        metadata(&first),
        pairs(&[("plan", "pro"), ("region", "emea")])
    );

    let second = verbatim_of(&mut t, "acme", "c-2").await;
    assert_eq!(second.created_at.unwrap().seconds, 1_424_854_800);
    assert_eq!(
        second.source,
        proto::Source::Survey as i32,
        "a blank source cell falls back to --source"
    );
    assert_eq!(second.language, "en-GB");
    assert_given_tags(
        &second,
        "active_use",
        "usability",
        &["dashboard"],
        "low",
        proto::SentimentLabel::Positive,
    );
    t.stop().await;
}

#[tokio::test]
async fn json_lines_with_every_mapping_flag_and_all_unmapped_columns_as_metadata() {
    let dir = tempfile::tempdir().unwrap();
    let mut t = TestServer::start(&dir.path().join("data")).await;
    let file = write(
        dir.path(),
        "reviews.ndjson",
        "{\"id\": \"R-1\", \"comment\": \"App crashes on login\", \"at\": \"2015-02-24T11:35:00Z\", \"channel\": \"review\", \"customer\": \"c-9\", \"account\": \"a-9\", \"lang\": \"pt-BR\", \"nps\": 6, \"csat\": 3, \"ces\": 4, \"stage\": \"onboarding\", \"drv\": \"reliability\", \"areas\": \"account_login, mobile_app\", \"sev\": \"critical\", \"mood\": \"mixed\", \"plan\": \"pro\", \"vip\": true, \"seats\": 12, \"note\": null}\n\
         \n\
         {\"comment\": \"Second review\", \"customer\": \"c-10\", \"at\": 1424777700}\n",
    );
    let args = [
        &[
            file.as_str(),
            "--text-col",
            "comment",
            "--id-col",
            "id",
            "--time-col",
            "at",
        ],
        FIELD_COLUMN_FLAGS,
        &["--metadata-cols", "*"],
    ]
    .concat();
    let run = import(&t, &args).await;
    assert!(run.status.success(), "{}", run.stderr);
    assert_eq!(run.counts(), (2, 2, 0, 0));

    let review = verbatim_of(&mut t, "default", "c-9").await;
    assert_eq!(
        (review.external_id.as_str(), review.text.as_str()),
        ("R-1", "App crashes on login")
    );
    assert_eq!(review.created_at.unwrap().seconds, 1_424_777_700);
    assert_eq!(review.source, proto::Source::Review as i32);
    assert_eq!(
        (review.account_id.as_str(), review.language.as_str()),
        ("a-9", "pt-BR")
    );
    assert_eq!(
        review.scores,
        Some(proto::Scores {
            nps: Some(6),
            csat: Some(3),
            ces: Some(4)
        })
    );
    assert_given_tags(
        &review,
        "onboarding",
        "reliability",
        &["account_login", "mobile_app"],
        "critical",
        proto::SentimentLabel::Mixed,
    );
    // `*`: every key no flag maps, numbers and booleans as written, null left out.
    assert_eq!(
        metadata(&review),
        pairs(&[("plan", "pro"), ("seats", "12"), ("vip", "true")])
    );

    let second = verbatim_of(&mut t, "default", "c-10").await;
    assert_eq!(second.created_at.unwrap().seconds, 1_424_777_700);
    assert_eq!(second.source, proto::Source::Other as i32);
    assert!(
        second.external_id.starts_with("imp-"),
        "a row without an id gets a derived one: {:?}",
        second.external_id
    );
    assert!(second.metadata.is_empty());
    t.stop().await;
}

#[tokio::test]
async fn bad_rows_go_to_the_error_report_with_their_lines_and_good_rows_still_import() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = common::test_config(&dir.path().join("data"));
    config.limits.max_text_bytes = 200;
    let t = TestServer::start_with(config).await;
    let too_long = "x".repeat(300);
    let file = write(
        dir.path(),
        "export.csv",
        &format!(
            "id,text,when,nps,area\n\
             1,fine row,2015-02-24 11:35,9,billing\n\
             2,,2015-02-24 11:35,9,\n\
             3,\"two\nlines\",2015-02-24 11:35,,\n\
             4,bad date,yesterday,,\n\
             5,bad score,,11,\n\
             6,{too_long},,,\n\
             \n\
             7,unknown area,,,teleport\n\
             8,last good,,,\n"
        ),
    );
    let report = dir.path().join("errors.csv");
    let run = import(
        &t,
        &[
            &file,
            "--id-col",
            "id",
            "--time-col",
            "when",
            "--nps-col",
            "nps",
            "--tag-col",
            "product_area=area",
            "--errors",
            report.to_str().unwrap(),
        ],
    )
    .await;
    assert_eq!(run.status.code(), Some(1), "{}", run.stderr);
    assert_eq!(run.counts(), (8, 3, 0, 5));
    assert_eq!(count(&t, "default").await, 3);

    let mut rows = csv::Reader::from_path(&report).unwrap();
    assert_eq!(
        rows.headers().unwrap(),
        vec!["line", "column", "reason", "raw"]
    );
    let mut refused: Vec<csv::StringRecord> = rows.records().map(Result::unwrap).collect();
    refused.sort_by_key(|r| r[0].parse::<u64>().unwrap());
    let summary: Vec<(&str, &str)> = refused.iter().map(|r| (&r[0], &r[1])).collect();
    assert_eq!(
        summary,
        [
            ("3", "text"),
            ("6", "when"),
            ("7", "nps"),
            ("8", "text"),
            ("10", "area")
        ]
    );
    let reasons: Vec<&str> = refused.iter().map(|r| &r[2]).collect();
    assert!(reasons[0].contains("missing text"), "{reasons:?}");
    assert!(
        reasons[1].contains("unparseable date \"yesterday\""),
        "{reasons:?}"
    );
    assert!(reasons[2].contains("0-10"), "{reasons:?}");
    assert!(reasons[3].contains("max_text_bytes=200"), "{reasons:?}");
    assert!(reasons[4].contains("teleport"), "{reasons:?}");
    assert_eq!(&refused[1][3], "4,bad date,yesterday,,");
    assert_eq!(&refused[3][3], format!("6,{too_long},,,"));
    // The first refused rows are also on standard error, by file and line.
    assert!(
        run.stderr.contains(&format!("{file}: line 6, column when")),
        "{}",
        run.stderr
    );
    t.stop().await;
}

#[tokio::test]
async fn strict_stops_at_the_first_bad_row() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = common::test_config(&dir.path().join("data"));
    config.limits.max_text_bytes = 50;
    let t = TestServer::start_with(config).await;
    let report = dir.path().join("errors.csv");
    let report = report.to_str().unwrap();

    // Refused by the reader: the rows before it are imported, none after.
    let file = write(
        dir.path(),
        "dates.csv",
        "text,when\nfirst,2015-02-24\nsecond,2015-02-24\nthird,someday\nfourth,2015-02-24\n",
    );
    let run = import(
        &t,
        &[
            &file,
            "--time-col",
            "when",
            "--strict",
            "--errors",
            report,
            "--workspace",
            "reader",
        ],
    )
    .await;
    assert_eq!(run.status.code(), Some(1), "{}", run.stderr);
    assert_eq!(run.counts(), (3, 2, 0, 1));
    assert_eq!(run.summary()["stopped_early"], true);
    assert_eq!(count(&t, "reader").await, 2);
    let lines: Vec<String> = csv::Reader::from_path(report)
        .unwrap()
        .records()
        .map(|r| r.unwrap()[0].to_string())
        .collect();
    assert_eq!(lines, ["4"]);

    // Refused by the server: the import stops after the batch that held it.
    let long = "y".repeat(60);
    let file = write(
        dir.path(),
        "long.csv",
        &format!("text\none\ntwo\n{long}\nfour\nfive\n"),
    );
    let run = import(
        &t,
        &[
            &file,
            "--strict",
            "--batch-size",
            "1",
            "--workspace",
            "server",
        ],
    )
    .await;
    assert_eq!(run.status.code(), Some(1), "{}", run.stderr);
    let (read, imported, _, rejected) = run.counts();
    assert_eq!((imported, rejected), (2, 1));
    assert!(read < 5, "the reader stopped early: read {read}");
    assert_eq!(count(&t, "server").await, 2);
    assert!(run.stderr.contains("line 4, column text"), "{}", run.stderr);
    t.stop().await;
}

/// Rows `0..n` of a one-column CSV; every 50th row repeats the same text, so identical rows
/// must be told apart by their occurrence.
fn numbered_rows(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            if i % 50 == 0 {
                "the same complaint again\n".to_string()
            } else {
                format!("row {i}: the app is slow\n")
            }
        })
        .collect()
}

#[tokio::test]
async fn an_interrupted_import_resumes_with_exactly_the_missing_rows() {
    const ROWS: usize = 2_000;
    const FIRST_PART: usize = 1_000;
    let dir = tempfile::tempdir().unwrap();
    let t = TestServer::start(&dir.path().join("data")).await;
    let rows = numbered_rows(ROWS);
    let whole = format!("text\n{}", rows.concat());

    // Feed the first part through a pipe that stays open, wait until the server has it, then
    // kill the client mid-file.
    let mut args = import_args(&t, &["-", "--batch-size", "100", "--quiet"]);
    args.push("--json".into());
    let mut child = spawn_tideline(&args);
    let mut stdin = child.stdin.take().unwrap();
    stdin
        .write_all(format!("text\n{}", rows[..FIRST_PART].concat()).as_bytes())
        .unwrap();
    stdin.flush().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while count(&t, "default").await < FIRST_PART {
        assert!(Instant::now() < deadline, "the first part never arrived");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert!(!status.success());
    drop(stdin);
    assert_eq!(count(&t, "default").await, FIRST_PART);

    let run = import_with_stdin(&t, &["-", "--batch-size", "100"], whole.into_bytes()).await;
    assert!(run.status.success(), "{}", run.stderr);
    assert_eq!(
        run.counts(),
        (
            ROWS as u64,
            (ROWS - FIRST_PART) as u64,
            FIRST_PART as u64,
            0
        )
    );
    assert_eq!(count(&t, "default").await, ROWS);
    t.stop().await;
}

#[tokio::test]
async fn a_moved_file_keeps_its_derived_ids() {
    let dir = tempfile::tempdir().unwrap();
    let t = TestServer::start(&dir.path().join("data")).await;
    let content = format!("text\n{}", numbered_rows(120).concat());
    std::fs::create_dir_all(dir.path().join("before")).unwrap();
    std::fs::create_dir_all(dir.path().join("after")).unwrap();
    let before = write(&dir.path().join("before"), "feedback.csv", &content);
    let after = write(&dir.path().join("after"), "feedback.csv", &content);
    let renamed = write(dir.path(), "feedback-copy.csv", &content);

    assert_eq!(import(&t, &[&before]).await.counts(), (120, 120, 0, 0));
    assert_eq!(import(&t, &[&after]).await.counts(), (120, 0, 120, 0));
    // The base name is the file's identity: another name is another file.
    assert_eq!(import(&t, &[&renamed]).await.counts(), (120, 120, 0, 0));
    t.stop().await;
}

#[tokio::test]
async fn delimiters_are_sniffed_or_given() {
    let dir = tempfile::tempdir().unwrap();
    let mut t = TestServer::start(&dir.path().join("data")).await;
    let semicolons = write(
        dir.path(),
        "semicolons.csv",
        "id;text;team\n1;prices, sadly, went up;emea\n2;\"quoted; semicolon\";amer\n",
    );
    let tabs = write(
        dir.path(),
        "tabs.txt",
        "id\ttext\tteam\n3\ttabbed, with comma; and semicolon\tapac\n",
    );
    for (file, workspace) in [(&semicolons, "semicolons"), (&tabs, "tabs")] {
        let run = import(&t, &[file, "--id-col", "id", "--workspace", workspace]).await;
        assert!(run.status.success(), "{file}: {}", run.stderr);
    }
    assert_eq!(
        texts(&mut t, "semicolons").await,
        ["prices, sadly, went up", "quoted; semicolon"]
    );
    assert_eq!(
        texts(&mut t, "tabs").await,
        ["tabbed, with comma; and semicolon"]
    );

    // Commas outnumber tabs in this header, so only --delimiter reads it right.
    let misleading = write(
        dir.path(),
        "misleading.txt",
        "id\ttext\tnotes, remarks, more\n4\tgiven, not sniffed\tx\n",
    );
    let sniffed = import(&t, &[&misleading, "--workspace", "given"]).await;
    assert!(!sniffed.status.success());
    assert!(
        sniffed
            .stderr
            .contains("column \"text\" is not in the header"),
        "{}",
        sniffed.stderr
    );
    let given = import(
        &t,
        &[&misleading, "--delimiter", "tab", "--workspace", "given"],
    )
    .await;
    assert!(given.status.success(), "{}", given.stderr);
    assert_eq!(texts(&mut t, "given").await, ["given, not sniffed"]);
    t.stop().await;
}

#[tokio::test]
async fn standard_input_reads_csv_and_sniffs_json_lines() {
    let dir = tempfile::tempdir().unwrap();
    let mut t = TestServer::start(&dir.path().join("data")).await;
    let run = import_with_stdin(
        &t,
        &["-", "--workspace", "csv"],
        b"text;team\nfrom a pipe;emea\n".to_vec(),
    )
    .await;
    assert!(run.status.success(), "{}", run.stderr);
    assert_eq!(texts(&mut t, "csv").await, ["from a pipe"]);

    let run = import_with_stdin(
        &t,
        &["-", "--workspace", "jsonl"],
        b"\n  {\"text\": \"json from a pipe\"}\n{\"text\": \"and another\"}\n".to_vec(),
    )
    .await;
    assert!(run.status.success(), "{}", run.stderr);
    assert_eq!(
        texts(&mut t, "jsonl").await,
        ["and another", "json from a pipe"]
    );
    t.stop().await;
}

#[tokio::test]
async fn dry_run_shows_the_mapping_and_contacts_no_server() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "survey.csv",
        "id,comment,nps,when\n1,Love it,10,2015-02-24 11:35\n2,,9,\n3,Meh,12,\n4,Fine,8,\n",
    );
    // A port nobody listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let server = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let args = |extra: &[&str]| {
        let mut args: Vec<String> = [
            "import",
            &file,
            "--server",
            &server,
            "--text-col",
            "comment",
            "--nps-col",
            "nps",
            "--time-col",
            "when",
            "--id-col",
            "id",
        ]
        .iter()
        .map(|a| a.to_string())
        .collect();
        args.extend(extra.iter().map(|a| a.to_string()));
        args
    };

    let run = tideline(args(&["--dry-run", "--dry-run-rows", "1"]), Vec::new()).await;
    assert!(run.status.success(), "{}", run.stderr);
    assert_eq!(
        run.stdout.lines().skip(1).collect::<Vec<_>>(),
        [
            "line 2",
            "  text: Love it",
            "  external_id: 1",
            "  created_at: 2015-02-24T11:35:00Z",
            "  source: other",
            "  scores.nps: 10",
        ]
    );
    // Refused rows among those shown make the exit status non-zero.
    let run = tideline(args(&["--dry-run"]), Vec::new()).await;
    assert_eq!(run.status.code(), Some(1), "{}", run.stderr);
    assert!(
        run.stdout
            .contains("line 3, column comment: missing text (refused)"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("line 4, column nps: nps score \"12\""),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("line 5\n  text: Fine"),
        "{}",
        run.stdout
    );
    // The same import for real needs the server, so the port really is closed.
    let run = tideline(args(&[]), Vec::new()).await;
    assert!(!run.status.success());
    assert!(run.stderr.contains("cannot connect"), "{}", run.stderr);
}

#[tokio::test]
async fn output_to_a_pipe_has_progress_lines_and_no_control_characters() {
    let dir = tempfile::tempdir().unwrap();
    let t = TestServer::start(&dir.path().join("data")).await;
    let rows: String = numbered_rows(600).concat();
    let file = write(
        dir.path(),
        "feedback.csv",
        &format!("text,when\n{}last,not a date\n", rows.replace('\n', ",\n")),
    );
    let run = tideline(
        import_args(
            &t,
            &[
                &file,
                "--time-col",
                "when",
                "--batch-size",
                "50",
                "--progress-every",
                "0",
            ],
        ),
        Vec::new(),
    )
    .await;
    assert_eq!(run.status.code(), Some(1), "{}", run.stderr);
    assert!(
        run.stderr.lines().any(|l| l.starts_with("progress: ")),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("line 602"), "{}", run.stderr);
    assert!(
        run.stdout
            .starts_with("read 601, imported 600, duplicates 0, rejected 1,"),
        "{}",
        run.stdout
    );
    for (name, text) in [("stdout", &run.stdout), ("stderr", &run.stderr)] {
        assert!(
            !text.chars().any(|c| c.is_control() && c != '\n'),
            "{name} has control characters: {text:?}"
        );
    }
    t.stop().await;
}

/// An id column that is not unique: the repeat with the same content is a duplicate, the repeat
/// with other content a conflict (counted apart, reported with its line, nothing stored over),
/// and the tool warns that the column is not each row's own id. Windows line endings inside a
/// text cell arrive as `\n`.
#[tokio::test]
async fn a_reused_id_with_other_content_is_a_conflict_and_the_tool_warns() {
    let dir = tempfile::tempdir().unwrap();
    let mut t = TestServer::start(&dir.path().join("data")).await;
    let file = write(
        dir.path(),
        "reviews.csv",
        "product,comment,customer\n\
         P-1,\"slow sync\r\nafter the update\",c1\n\
         P-1,\"slow sync\r\nafter the update\",c1\n\
         P-1,love the new reports,c2\n",
    );
    let errors = dir.path().join("errors.csv");
    let run = import(
        &t,
        &[
            &file,
            "--workspace",
            "reviews",
            "--id-col",
            "product",
            "--text-col",
            "comment",
            "--customer-col",
            "customer",
            "--errors",
            errors.to_str().unwrap(),
        ],
    )
    .await;
    assert_eq!(run.status.code(), Some(1), "{}", run.stderr);
    let summary = run.summary();
    assert_eq!(run.counts(), (3, 1, 1, 0));
    assert_eq!(summary["conflicts"], 1);
    assert_eq!(summary["repeated_ids"], 2);
    assert!(
        run.stderr
            .contains("the id column \"product\" is not unique: 2 rows repeat"),
        "{}",
        run.stderr
    );
    let report = std::fs::read_to_string(&errors).unwrap();
    // The third row starts on line 6 (the quoted texts span two lines each).
    assert!(
        report.contains("6,product,external_id: already the idempotency key of vb_"),
        "{report}"
    );
    assert_eq!(count(&t, "reviews").await, 1);
    let stored = verbatim_of(&mut t, "reviews", "c1").await;
    assert_eq!(stored.text, "slow sync\nafter the update");
    t.stop().await;
}
