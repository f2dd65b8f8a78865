//! The one typed configuration: defaults, then a TOML file, then environment variables, then flags.
//! `tideline.example.toml` at the top of the repository documents every field.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::alerts::AlertRule;
use crate::auth::quotas::QuotaSettings;
pub use crate::insights::InsightsConfig;
use crate::model::validate_workspace;
pub use crate::model::Limits;
use crate::themes::ThemeParams;
pub use crate::webhooks::WebhooksConfig;

/// Configuration errors: a file that cannot be read or parsed, or a value out of range.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid config file {path}: {source}")]
    Parse {
        path: PathBuf,
        source: toml::de::Error,
    },
    #[error("invalid config value {field}: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
}

/// Everything `tideline serve` needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address the gRPC server listens on. Port 0 picks a free port.
    pub listen: SocketAddr,
    /// Address of the operations HTTP listener: `/healthz`, `/readyz`, `/metrics` (Prometheus).
    /// Port 0 picks a free port.
    pub http_listen: SocketAddr,
    /// Directory holding the store (`store/`) and the search index (`index/`).
    pub data_dir: PathBuf,
    /// Workspace used when a request names none (neither field nor `x-tideline-workspace` header).
    pub default_workspace: String,
    /// On SIGINT/SIGTERM, how long in-flight requests may take to finish before the server stops.
    pub shutdown_grace_secs: u64,
    /// Writes stop (RESOURCE_EXHAUSTED, health NOT_SERVING for IngestService; reads go on) while
    /// the disk holding the data directory has less than this many MiB free, and resume once
    /// space is freed. 0: no mark.
    pub min_free_disk_mb: u64,
    /// Shifts the clock the accountability loop and the digests read (SLA due dates, breaches,
    /// digest periods), in seconds: for drills and tests of what happens days ahead. 0 in
    /// production.
    pub clock_offset_secs: i64,
    pub limits: Limits,
    pub index: IndexConfig,
    pub tagging: TaggingConfig,
    pub themes: ThemesConfig,
    pub alerts: AlertsConfig,
    pub insights: InsightsConfig,
    pub webhooks: WebhooksConfig,
    pub auth: AuthConfig,
    pub tls: TlsConfig,
}

/// TLS for the gRPC listener (rustls). With neither file set the server speaks plain HTTP/2.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TlsConfig {
    /// PEM certificate chain, leaf first.
    pub cert_file: Option<PathBuf>,
    /// PEM private key of the leaf certificate.
    pub key_file: Option<PathBuf>,
}

impl TlsConfig {
    /// Whether the listener speaks TLS.
    pub fn enabled(&self) -> bool {
        self.cert_file.is_some()
    }
}

/// A secret that never shows in logs or debug output.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(…)")
    }
}

/// API keys and their quotas.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthConfig {
    /// A file holding the bootstrap admin key (`TIDELINE_BOOTSTRAP_KEY` wins over it). With no
    /// bootstrap key and no stored key, `serve` refuses to start unless `--no-auth` is given.
    pub bootstrap_key_file: Option<PathBuf>,
    /// Calls per second per key, sustained.
    pub requests_per_second: u32,
    /// Calls per key allowed at once above the rate.
    pub burst: u32,
    /// Streams (StreamVerbatims, WatchAlerts) one key may hold open at once.
    pub max_streams: usize,
    /// `--no-auth`: every call allowed, loopback addresses only. Not a file setting.
    #[serde(skip)]
    pub disabled: bool,
    /// The bootstrap key itself, from the environment or the file. Never written out.
    #[serde(skip)]
    pub bootstrap_key: Option<Secret>,
}

impl Default for AuthConfig {
    fn default() -> Self {
        let quotas = QuotaSettings::default();
        AuthConfig {
            bootstrap_key_file: None,
            requests_per_second: quotas.requests_per_second,
            burst: quotas.burst,
            max_streams: quotas.max_streams,
            disabled: false,
            bootstrap_key: None,
        }
    }
}

impl AuthConfig {
    /// The bootstrap key: `TIDELINE_BOOTSTRAP_KEY` if set, else the first line of
    /// `bootstrap_key_file`, else none.
    fn read_bootstrap_key(&self) -> Result<Option<Secret>, ConfigError> {
        if let Ok(key) = std::env::var(BOOTSTRAP_KEY_ENV) {
            if !key.is_empty() {
                return Ok(Some(Secret(key.trim().to_string())));
            }
        }
        let Some(path) = &self.bootstrap_key_file else {
            return Ok(self.bootstrap_key.clone());
        };
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.clone(),
            source,
        })?;
        Ok(Some(Secret(
            text.lines().next().unwrap_or_default().trim().to_string(),
        )))
    }

    /// Whether calls need a key.
    pub fn enabled(&self) -> bool {
        !self.disabled
    }

    /// The per-key quotas.
    pub fn quotas(&self) -> QuotaSettings {
        QuotaSettings {
            requests_per_second: self.requests_per_second,
            burst: self.burst,
            max_streams: self.max_streams,
        }
    }
}

/// The environment variable holding the bootstrap admin key.
pub const BOOTSTRAP_KEY_ENV: &str = "TIDELINE_BOOTSTRAP_KEY";
/// The shortest bootstrap key accepted.
const MIN_BOOTSTRAP_KEY_CHARS: usize = 16;

/// Emerging-issue alerts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AlertsConfig {
    /// Evaluate every workspace's alert rules this often, in seconds (0: only after theme
    /// refreshes and on demand).
    pub evaluate_interval_secs: u64,
    /// The default rules; each workspace can replace them (UpdateAlertRules).
    pub rules: AlertRule,
}

impl Default for AlertsConfig {
    fn default() -> Self {
        AlertsConfig {
            evaluate_interval_secs: 900,
            rules: AlertRule::default(),
        }
    }
}

/// Theme detection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ThemesConfig {
    /// Refresh every workspace's themes this often, in seconds (0: only on demand).
    pub refresh_interval_secs: u64,
    /// Look for themes past their SLA this often, in seconds (0: never; breaches are then not
    /// announced).
    pub sla_check_interval_secs: u64,
    /// Fewest themes an automatic refresh looks for.
    pub min_themes: usize,
    /// Most themes an automatic refresh looks for.
    pub max_themes: usize,
    /// The share of meaning in the similarity themes are found by (the rest is TF-IDF), when
    /// the sentence encoder is present; 0 finds themes by words alone.
    pub meaning_weight: f32,
    /// The sentence encoder themes are found with, by name: `potion-base-8M` (the default, a
    /// static model) or `all-MiniLM-L6-v2` (a transformer: better themes, far slower encoding;
    /// needs a build with `--features onnx` and `scripts/fetch-model.sh --onnx`). When it cannot
    /// be opened, themes fall back to TF-IDF and say why.
    pub encoder: String,
    /// Where the sentence encoders' models are (a folder per encoder inside, e.g.
    /// `potion-base-8M/`, fetched by `scripts/fetch-model.sh`; with `--onnx`, also
    /// `all-MiniLM-L6-v2/` and the runtime in `onnxruntime/`). Default: `TIDELINE_MODELS_DIR`,
    /// else `models`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub models_dir: Option<std::path::PathBuf>,
}

impl Default for ThemesConfig {
    fn default() -> Self {
        ThemesConfig {
            refresh_interval_secs: 3600,
            sla_check_interval_secs: 60,
            min_themes: 5,
            max_themes: 80,
            meaning_weight: 0.9,
            encoder: crate::embedding::DEFAULT_MODEL.into(),
            models_dir: None,
        }
    }
}

impl ThemesConfig {
    /// Detection parameters for a refresh, with `k` fixed when given.
    pub fn params(&self, k: Option<usize>) -> ThemeParams {
        ThemeParams {
            k,
            min_k: self.min_themes,
            max_k: self.max_themes,
            meaning_weight: self.meaning_weight,
            ..Default::default()
        }
    }
}

/// Text handling on ingest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TaggingConfig {
    /// Replace emails, phone numbers, payment cards, IBANs and IP addresses with placeholders
    /// ("[EMAIL]", ...) before anything is stored or indexed. The original is never written.
    pub redact_pii: bool,
}

impl Default for TaggingConfig {
    fn default() -> Self {
        TaggingConfig { redact_pii: true }
    }
}

/// Search-index behaviour.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IndexConfig {
    /// Longest time between index commits while verbatims are arriving. New verbatims become
    /// searchable within this time (sooner for `wait_for_index` requests and deletions).
    pub commit_interval_ms: u64,
    /// Memory budget of the index writer, in MiB (tantivy needs at least 15).
    pub writer_memory_mb: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: "127.0.0.1:50051".parse().expect("valid default address"),
            http_listen: "127.0.0.1:50080".parse().expect("valid default address"),
            data_dir: PathBuf::from("./tideline-data"),
            default_workspace: "default".to_string(),
            shutdown_grace_secs: 10,
            min_free_disk_mb: 256,
            clock_offset_secs: 0,
            limits: Limits::default(),
            index: IndexConfig::default(),
            tagging: TaggingConfig::default(),
            themes: ThemesConfig::default(),
            alerts: AlertsConfig::default(),
            insights: InsightsConfig::default(),
            webhooks: WebhooksConfig::default(),
            auth: AuthConfig::default(),
            tls: TlsConfig::default(),
        }
    }
}

impl Default for IndexConfig {
    fn default() -> Self {
        IndexConfig {
            commit_interval_ms: 1000,
            writer_memory_mb: 64,
        }
    }
}

/// Command-line flags (each with an environment variable) that override the config file.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ConfigArgs {
    /// TOML config file; see tideline.example.toml for every field.
    #[arg(long, env = "TIDELINE_CONFIG")]
    pub config: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1:50051].
    #[arg(long, env = "TIDELINE_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// Address of the operations HTTP listener (/healthz, /readyz, /metrics) [default:
    /// 127.0.0.1:50080].
    #[arg(long, env = "TIDELINE_HTTP_LISTEN")]
    pub http_listen: Option<SocketAddr>,
    /// Data directory for the store and index [default: ./tideline-data].
    #[arg(long, env = "TIDELINE_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Workspace for requests that name none [default: default].
    #[arg(long, env = "TIDELINE_DEFAULT_WORKSPACE")]
    pub default_workspace: Option<String>,
    /// Seconds in-flight requests get to finish on shutdown [default: 10].
    #[arg(long, env = "TIDELINE_SHUTDOWN_GRACE_SECS")]
    pub shutdown_grace_secs: Option<u64>,
    /// Writes stop while the data directory's disk has less than this many MiB free [default: 256].
    #[arg(long, env = "TIDELINE_MIN_FREE_DISK_MB")]
    pub min_free_disk_mb: Option<u64>,
    /// Largest verbatim text in bytes [default: 32768].
    #[arg(long, env = "TIDELINE_MAX_TEXT_BYTES")]
    pub max_text_bytes: Option<usize>,
    /// Most items per batch or stream message [default: 1000].
    #[arg(long, env = "TIDELINE_MAX_BATCH_ITEMS")]
    pub max_batch_items: Option<usize>,
    /// Largest gRPC message in bytes [default: 16777216].
    #[arg(long, env = "TIDELINE_MAX_MESSAGE_BYTES")]
    pub max_message_bytes: Option<usize>,
    /// Largest search page size [default: 1000].
    #[arg(long, env = "TIDELINE_MAX_PAGE_SIZE")]
    pub max_page_size: Option<usize>,
    /// Most failures listed in a stream response [default: 1000].
    #[arg(long, env = "TIDELINE_MAX_REPORTED_FAILURES")]
    pub max_reported_failures: Option<usize>,
    /// Longest time between index commits, in milliseconds [default: 1000].
    #[arg(long, env = "TIDELINE_INDEX_COMMIT_INTERVAL_MS")]
    pub index_commit_interval_ms: Option<u64>,
    /// Index writer memory budget in MiB [default: 64].
    #[arg(long, env = "TIDELINE_INDEX_WRITER_MEMORY_MB")]
    pub index_writer_memory_mb: Option<usize>,
    /// Seconds between scheduled theme refreshes; 0 turns them off [default: 3600].
    #[arg(long, env = "TIDELINE_THEMES_REFRESH_INTERVAL_SECS")]
    pub themes_refresh_interval_secs: Option<u64>,
    /// Fewest themes an automatic refresh looks for [default: 5].
    #[arg(long, env = "TIDELINE_THEMES_MIN")]
    pub themes_min: Option<usize>,
    /// Most themes an automatic refresh looks for [default: 80].
    #[arg(long, env = "TIDELINE_THEMES_MAX")]
    pub themes_max: Option<usize>,
    /// Redact PII (emails, phones, cards, IBANs, IPs) before storing [default: true].
    #[arg(long, env = "TIDELINE_REDACT_PII")]
    pub redact_pii: Option<bool>,
    /// Seconds between scheduled alert evaluations; 0 turns them off [default: 900].
    #[arg(long, env = "TIDELINE_ALERTS_EVALUATE_INTERVAL_SECS")]
    pub alerts_evaluate_interval_secs: Option<u64>,
    /// Accept webhook URLs on private and loopback addresses (SSRF guard off) [default: false].
    #[arg(long, env = "TIDELINE_WEBHOOKS_ALLOW_PRIVATE_URLS")]
    pub webhooks_allow_private_urls: Option<bool>,
    /// File holding the bootstrap admin key (the TIDELINE_BOOTSTRAP_KEY variable wins over it).
    #[arg(long, env = "TIDELINE_BOOTSTRAP_KEY_FILE")]
    pub bootstrap_key_file: Option<PathBuf>,
    /// Calls per second per API key, sustained [default: 1000].
    #[arg(long, env = "TIDELINE_REQUESTS_PER_SECOND")]
    pub requests_per_second: Option<u32>,
    /// Serve without API keys: every call allowed. Only on a loopback listen address.
    #[arg(long, env = "TIDELINE_NO_AUTH")]
    pub no_auth: bool,
    /// PEM certificate chain for TLS (with --tls-key).
    #[arg(long, env = "TIDELINE_TLS_CERT")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key for TLS (with --tls-cert).
    #[arg(long, env = "TIDELINE_TLS_KEY")]
    pub tls_key: Option<PathBuf>,
}

impl Config {
    /// Defaults, then the file named by `args.config` (if any), then the flags and environment.
    pub fn load(args: &ConfigArgs) -> Result<Config, ConfigError> {
        let mut config = match &args.config {
            Some(path) => Config::from_file(path)?,
            None => Config::default(),
        };
        config.apply(args);
        config.auth.bootstrap_key = config.auth.read_bootstrap_key()?;
        config.validate()?;
        Ok(config)
    }

    /// Reads a TOML file; absent fields keep their defaults, unknown fields are refused.
    pub fn from_file(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        toml::from_str(&text).map_err(|source| ConfigError::Parse {
            path: path.to_path_buf(),
            source,
        })
    }

    fn apply(&mut self, args: &ConfigArgs) {
        fn set<T: Clone>(target: &mut T, value: &Option<T>) {
            if let Some(v) = value {
                *target = v.clone();
            }
        }
        set(&mut self.listen, &args.listen);
        set(&mut self.http_listen, &args.http_listen);
        set(&mut self.data_dir, &args.data_dir);
        set(&mut self.default_workspace, &args.default_workspace);
        set(&mut self.shutdown_grace_secs, &args.shutdown_grace_secs);
        set(&mut self.min_free_disk_mb, &args.min_free_disk_mb);
        set(&mut self.limits.max_text_bytes, &args.max_text_bytes);
        set(&mut self.limits.max_batch_items, &args.max_batch_items);
        set(&mut self.limits.max_message_bytes, &args.max_message_bytes);
        set(&mut self.limits.max_page_size, &args.max_page_size);
        set(
            &mut self.limits.max_reported_failures,
            &args.max_reported_failures,
        );
        set(
            &mut self.index.commit_interval_ms,
            &args.index_commit_interval_ms,
        );
        set(
            &mut self.index.writer_memory_mb,
            &args.index_writer_memory_mb,
        );
        set(&mut self.tagging.redact_pii, &args.redact_pii);
        set(
            &mut self.themes.refresh_interval_secs,
            &args.themes_refresh_interval_secs,
        );
        set(&mut self.themes.min_themes, &args.themes_min);
        set(&mut self.themes.max_themes, &args.themes_max);
        set(
            &mut self.alerts.evaluate_interval_secs,
            &args.alerts_evaluate_interval_secs,
        );
        set(
            &mut self.webhooks.allow_private_urls,
            &args.webhooks_allow_private_urls,
        );
        if args.bootstrap_key_file.is_some() {
            self.auth.bootstrap_key_file = args.bootstrap_key_file.clone();
        }
        set(
            &mut self.auth.requests_per_second,
            &args.requests_per_second,
        );
        self.auth.disabled |= args.no_auth;
        if args.tls_cert.is_some() {
            self.tls.cert_file = args.tls_cert.clone();
        }
        if args.tls_key.is_some() {
            self.tls.key_file = args.tls_key.clone();
        }
    }

    /// Refuses values the server cannot run with.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |field, message: &str| ConfigError::Invalid {
            field,
            message: message.to_string(),
        };
        validate_workspace(&self.default_workspace)
            .map_err(|e| invalid("default_workspace", &e.message))?;
        if let Some((field, message)) = self.limits.invalid_field() {
            return Err(invalid(field, message));
        }
        if self.index.writer_memory_mb < 15 {
            return Err(invalid("index.writer_memory_mb", "must be at least 15"));
        }
        if self.themes.min_themes < 2 || self.themes.max_themes < self.themes.min_themes {
            return Err(invalid(
                "themes.min_themes",
                "must be at least 2 and at most themes.max_themes",
            ));
        }
        if !(0.0..=1.0).contains(&self.themes.meaning_weight) {
            return Err(invalid("themes.meaning_weight", "must be between 0 and 1"));
        }
        if !crate::embedding::ENCODERS.contains(&self.themes.encoder.as_str()) {
            return Err(invalid(
                "themes.encoder",
                &format!("must be one of {}", crate::embedding::ENCODERS.join(", ")),
            ));
        }
        if self.index.commit_interval_ms == 0 {
            return Err(invalid("index.commit_interval_ms", "must be positive"));
        }
        if let Some((field, message)) = self.alerts.rules.invalid_field() {
            return Err(ConfigError::Invalid {
                field: "alerts.rules",
                message: format!("{field} {message}"),
            });
        }
        if let Some((field, message)) = self.insights.invalid_field() {
            return Err(invalid(field, message));
        }
        let schedule = &self.webhooks.retry_schedule_secs;
        if schedule.is_empty() || schedule.iter().any(|s| !(s.is_finite() && *s >= 0.0)) {
            return Err(invalid(
                "webhooks.retry_schedule_secs",
                "must list at least one non-negative delay",
            ));
        }
        if self.webhooks.timeout_secs == 0 {
            return Err(invalid("webhooks.timeout_secs", "must be positive"));
        }
        if self.webhooks.max_concurrent_deliveries == 0 {
            return Err(invalid(
                "webhooks.max_concurrent_deliveries",
                "must be positive",
            ));
        }
        self.validate_access()
    }

    /// Who may call, and over what: keys, quotas, `--no-auth` and TLS files.
    fn validate_access(&self) -> Result<(), ConfigError> {
        let invalid = |field, message: &str| ConfigError::Invalid {
            field,
            message: message.to_string(),
        };
        if self.auth.disabled && !self.listen.ip().is_loopback() {
            return Err(invalid(
                "listen",
                "--no-auth serves only loopback addresses (127.0.0.1, ::1); give api keys to listen on others",
            ));
        }
        if let Some(key) = &self.auth.bootstrap_key {
            if key.0.chars().count() < MIN_BOOTSTRAP_KEY_CHARS
                || key.0.chars().any(|c| c.is_whitespace() || c.is_control())
            {
                return Err(invalid(
                    "auth.bootstrap_key",
                    "must be at least 16 characters without spaces",
                ));
            }
        }
        if self.auth.requests_per_second == 0 || self.auth.burst == 0 {
            return Err(invalid(
                "auth.requests_per_second",
                "must be positive (with a positive auth.burst)",
            ));
        }
        if self.auth.max_streams == 0 {
            return Err(invalid("auth.max_streams", "must be positive"));
        }
        if self.tls.cert_file.is_some() != self.tls.key_file.is_some() {
            return Err(invalid(
                "tls",
                "cert_file and key_file go together (--tls-cert and --tls-key)",
            ));
        }
        Ok(())
    }

    pub fn commit_interval(&self) -> Duration {
        Duration::from_millis(self.index.commit_interval_ms)
    }

    pub fn store_dir(&self) -> PathBuf {
        self.data_dir.join("store")
    }

    pub fn index_dir(&self) -> PathBuf {
        self.data_dir.join("index")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_file_parses_to_the_defaults() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tideline.example.toml");
        assert_eq!(Config::from_file(&path).unwrap(), Config::default());
    }

    #[test]
    fn flags_override_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(
            &path,
            "data_dir = \"/from/file\"\n[limits]\nmax_text_bytes = 10\n",
        )
        .unwrap();
        let args = ConfigArgs {
            config: Some(path),
            max_text_bytes: Some(20),
            ..Default::default()
        };
        let config = Config::load(&args).unwrap();
        assert_eq!(config.data_dir, PathBuf::from("/from/file"));
        assert_eq!(config.limits.max_text_bytes, 20);
    }

    #[test]
    fn every_flag_overrides_its_field() {
        let dir = tempfile::tempdir().unwrap();
        let key_file = dir.path().join("bootstrap");
        std::fs::write(&key_file, "bootstrap-key-0123456789\n").unwrap();
        let args = ConfigArgs {
            config: None,
            listen: Some("127.0.0.1:9".parse().unwrap()),
            http_listen: Some("127.0.0.1:10".parse().unwrap()),
            data_dir: Some(PathBuf::from("/d")),
            default_workspace: Some("acme".into()),
            shutdown_grace_secs: Some(3),
            min_free_disk_mb: Some(8),
            max_text_bytes: Some(10),
            max_batch_items: Some(11),
            max_message_bytes: Some(4096),
            max_page_size: Some(13),
            max_reported_failures: Some(14),
            index_commit_interval_ms: Some(15),
            index_writer_memory_mb: Some(16),
            themes_refresh_interval_secs: Some(17),
            themes_min: Some(3),
            themes_max: Some(19),
            redact_pii: Some(false),
            alerts_evaluate_interval_secs: Some(20),
            webhooks_allow_private_urls: Some(true),
            bootstrap_key_file: Some(key_file.clone()),
            requests_per_second: Some(21),
            no_auth: true,
            tls_cert: Some(PathBuf::from("/c.pem")),
            tls_key: Some(PathBuf::from("/k.pem")),
        };
        let config = Config::load(&args).unwrap();
        let expected = Config {
            listen: "127.0.0.1:9".parse().unwrap(),
            http_listen: "127.0.0.1:10".parse().unwrap(),
            data_dir: PathBuf::from("/d"),
            default_workspace: "acme".into(),
            shutdown_grace_secs: 3,
            min_free_disk_mb: 8,
            clock_offset_secs: 0,
            limits: Limits {
                max_text_bytes: 10,
                max_batch_items: 11,
                max_message_bytes: 4096,
                max_page_size: 13,
                max_reported_failures: 14,
                ..Default::default()
            },
            index: IndexConfig {
                commit_interval_ms: 15,
                writer_memory_mb: 16,
            },
            tagging: TaggingConfig { redact_pii: false },
            themes: ThemesConfig {
                refresh_interval_secs: 17,
                min_themes: 3,
                max_themes: 19,
                ..Default::default()
            },
            alerts: AlertsConfig {
                evaluate_interval_secs: 20,
                ..Default::default()
            },
            insights: InsightsConfig::default(),
            webhooks: WebhooksConfig {
                allow_private_urls: true,
                ..Default::default()
            },
            auth: AuthConfig {
                bootstrap_key_file: Some(key_file),
                requests_per_second: 21,
                disabled: true,
                bootstrap_key: Some(Secret("bootstrap-key-0123456789".into())),
                ..Default::default()
            },
            tls: TlsConfig {
                cert_file: Some(PathBuf::from("/c.pem")),
                key_file: Some(PathBuf::from("/k.pem")),
            },
        };
        assert_eq!(config, expected);
    }

    #[test]
    fn unknown_fields_and_bad_values_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(&path, "max_txt_bytes = 10\n").unwrap();
        assert!(matches!(
            Config::from_file(&path),
            Err(ConfigError::Parse { .. })
        ));
        let args = ConfigArgs {
            index_writer_memory_mb: Some(1),
            ..Default::default()
        };
        let err = Config::load(&args).unwrap_err().to_string();
        assert!(err.contains("index.writer_memory_mb"), "{err}");
        let mut config = Config::default();
        config.themes.encoder = "bert".into();
        let err = config.validate().unwrap_err().to_string();
        assert_eq!(
            err,
            "invalid config value themes.encoder: must be one of potion-base-8M, all-MiniLM-L6-v2"
        );
    }
}
