//! A full disk, for real: `tideline serve` on a small tmpfs, fed until less than
//! `min_free_disk_mb` is left. Writes are then refused with RESOURCE_EXHAUSTED saying why, health
//! reports IngestService NOT_SERVING, and reads go on; nothing acknowledged is lost; a restart on
//! that disk comes up read-only and says so; freeing space lets writes resume without a restart.
//!
//! Mounting a tmpfs needs root with CAP_SYS_ADMIN; where that is refused the test prints a skip.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::{connect, spawn_serve, ServeProcess};
use tideline::proto::ingest_service_client::IngestServiceClient;
use tideline::proto::verbatim_service_client::VerbatimServiceClient;
use tideline::proto::{self, IngestVerbatimsRequest};
use tonic::Code;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::HealthCheckRequest;

/// A tmpfs of a fixed size, unmounted on drop.
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    fn mount(megabytes: u32) -> Option<Tmpfs> {
        let dir = tempfile::tempdir().ok()?;
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={megabytes}m"), "tmpfs"])
            .arg(dir.path())
            .output()
            .ok()?;
        if !mounted.status.success() {
            eprintln!(
                "skipping: cannot mount a tmpfs here ({})",
                String::from_utf8_lossy(&mounted.stderr).trim()
            );
            return None;
        }
        Some(Tmpfs { dir })
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.dir.path()).status();
    }
}

fn serve(data_dir: &Path) -> ServeProcess {
    spawn_serve(
        data_dir,
        &[
            "--min-free-disk-mb",
            "8",
            "--themes-refresh-interval-secs",
            "0",
            "--alerts-evaluate-interval-secs",
            "0",
        ],
    )
}

async fn ingest_health(process: &ServeProcess) -> i32 {
    HealthClient::new(connect(process.addr).await)
        .check(HealthCheckRequest {
            service: "tideline.v1.IngestService".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .status
}

/// Waits (briefly) for IngestService's health to become `status`.
async fn wait_for_health(process: &ServeProcess, status: ServingStatus) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while ingest_health(process).await != status as i32 {
        assert!(
            Instant::now() < deadline,
            "IngestService never became {status:?}; the server said:\n{}",
            process.log_tail()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn batch(call: usize) -> Vec<proto::NewVerbatim> {
    (0..200)
        .map(|i| proto::NewVerbatim {
            source: proto::Source::Ticket as i32,
            external_id: format!("full-{call}-{i}"),
            text: format!(
                "call {call} item {i}: the export keeps failing and the invoice is wrong {}",
                "and support never answers my emails about it ".repeat(10)
            ),
            ..Default::default()
        })
        .collect()
}

#[tokio::test]
async fn a_full_disk_refuses_writes_keeps_reads_and_restarts_read_only() {
    let Some(tmpfs) = Tmpfs::mount(64) else {
        return;
    };
    // Something else on the disk, freed at the end.
    let filler = tmpfs.path().join("filler");
    std::fs::write(&filler, vec![7u8; 16 << 20]).unwrap();
    let data_dir: PathBuf = tmpfs.path().join("data");
    let process = serve(&data_dir);
    let channel = connect(process.addr).await;
    let mut ingest = IngestServiceClient::new(channel.clone());
    let mut acknowledged = Vec::new();
    let refusal = 'fill: {
        for call in 0..2_000 {
            match ingest
                .ingest_verbatims(IngestVerbatimsRequest {
                    items: batch(call),
                    ..Default::default()
                })
                .await
            {
                Ok(response) => acknowledged.extend(response.into_inner().results),
                Err(status) => break 'fill status,
            }
        }
        panic!("the disk never filled");
    };
    assert_eq!(refusal.code(), Code::ResourceExhausted, "{refusal:?}");
    assert!(
        refusal.message().contains("min_free_disk_mb"),
        "{refusal:?}"
    );
    assert!(!acknowledged.is_empty());
    // Leave 4 MB free: writes resume at twice the mark (16 MB), and sled cleaning up its own
    // segments once the writes stop must not get there by itself (it did, once in a CI run).
    let free = fs4::available_space(tmpfs.path()).unwrap();
    let topping = tmpfs.path().join("topping");
    let keep_free = 4 << 20;
    if free > keep_free {
        std::fs::write(&topping, vec![7u8; (free - keep_free) as usize]).unwrap();
    }
    wait_for_health(&process, ServingStatus::NotServing).await;
    // Further writes are refused at once; reads go on.
    let again = ingest
        .ingest_verbatims(IngestVerbatimsRequest {
            items: batch(9_999),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(again.code(), Code::ResourceExhausted);
    let mut verbatims = VerbatimServiceClient::new(channel);
    let first = verbatims
        .get_verbatim(proto::GetVerbatimRequest {
            id: acknowledged[0].id.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(first.text.starts_with("call 0 item 0"));
    verbatims
        .search_verbatims(proto::SearchVerbatimsRequest {
            query: "invoice".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    drop(process); // kill -9

    // On the full disk, a restart comes up read-only: reads work, writes are refused.
    let process = serve(&data_dir);
    wait_for_health(&process, ServingStatus::NotServing).await;
    let channel = connect(process.addr).await;
    let refused = IngestServiceClient::new(channel.clone())
        .ingest_verbatims(IngestVerbatimsRequest {
            items: batch(10_000),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::ResourceExhausted);
    assert!(
        refused.message().contains("min_free_disk_mb"),
        "{refused:?}"
    );
    let mut verbatims = VerbatimServiceClient::new(channel);
    // Nothing acknowledged was lost.
    for result in acknowledged.iter().step_by(97) {
        let got = verbatims
            .get_verbatim(proto::GetVerbatimRequest {
                id: result.id.clone(),
                ..Default::default()
            })
            .await
            .unwrap_or_else(|e| panic!("{} lost: {e}", result.id))
            .into_inner();
        assert!(got.external_id.starts_with("full-"));
    }
    // Freeing space lets writes resume, without a restart.
    std::fs::remove_file(&filler).unwrap();
    let _ = std::fs::remove_file(&topping);
    wait_for_health(&process, ServingStatus::Serving).await;
    IngestServiceClient::new(connect(process.addr).await)
        .ingest_verbatims(IngestVerbatimsRequest {
            items: batch(10_001),
            ..Default::default()
        })
        .await
        .unwrap();
    drop(process);
}
