//! The one typed configuration: defaults, then a TOML file, then environment variables, then flags.
//! `tideline.example.toml` at the top of the repository documents every field.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::alerts::AlertRule;
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
    pub limits: Limits,
    pub index: IndexConfig,
    pub tagging: TaggingConfig,
    pub themes: ThemesConfig,
    pub alerts: AlertsConfig,
    pub webhooks: WebhooksConfig,
}

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
    /// Fewest themes an automatic refresh looks for.
    pub min_themes: usize,
    /// Most themes an automatic refresh looks for.
    pub max_themes: usize,
}

impl Default for ThemesConfig {
    fn default() -> Self {
        ThemesConfig {
            refresh_interval_secs: 3600,
            min_themes: 5,
            max_themes: 80,
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
            data_dir: PathBuf::from("./tideline-data"),
            default_workspace: "default".to_string(),
            shutdown_grace_secs: 10,
            min_free_disk_mb: 256,
            limits: Limits::default(),
            index: IndexConfig::default(),
            tagging: TaggingConfig::default(),
            themes: ThemesConfig::default(),
            alerts: AlertsConfig::default(),
            webhooks: WebhooksConfig::default(),
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
}

impl Config {
    /// Defaults, then the file named by `args.config` (if any), then the flags and environment.
    pub fn load(args: &ConfigArgs) -> Result<Config, ConfigError> {
        let mut config = match &args.config {
            Some(path) => Config::from_file(path)?,
            None => Config::default(),
        };
        config.apply(args);
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
        if self.index.commit_interval_ms == 0 {
            return Err(invalid("index.commit_interval_ms", "must be positive"));
        }
        if let Some((field, message)) = self.alerts.rules.invalid_field() {
            return Err(ConfigError::Invalid {
                field: "alerts.rules",
                message: format!("{field} {message}"),
            });
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
        let args = ConfigArgs {
            config: None,
            listen: Some("127.0.0.1:9".parse().unwrap()),
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
        };
        let config = Config::load(&args).unwrap();
        let expected = Config {
            listen: "127.0.0.1:9".parse().unwrap(),
            data_dir: PathBuf::from("/d"),
            default_workspace: "acme".into(),
            shutdown_grace_secs: 3,
            min_free_disk_mb: 8,
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
            },
            alerts: AlertsConfig {
                evaluate_interval_secs: 20,
                ..Default::default()
            },
            webhooks: WebhooksConfig {
                allow_private_urls: true,
                ..Default::default()
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
    }
}
