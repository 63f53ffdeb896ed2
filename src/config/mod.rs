//! One settings tree: built-in `config/default.toml` → `config/<env>.toml`
//! → `--config FILE` → `HOLDFAST__SECTION__KEY` environment variables.

use std::fmt;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Toml};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize, Serializer};

mod sections;
pub use sections::*;

pub const DEFAULT_TOML: &str = include_str!("../../config/default.toml");

/// A secret: never printed. Serialises as `********` (or `""` when unset)
/// so that `config check` shows whether it is set, not what it is.
#[derive(Clone, Deserialize)]
#[serde(transparent)]
pub struct Secret(SecretString);

impl Secret {
    pub fn new(s: &str) -> Self {
        Secret(SecretString::from(s.to_owned()))
    }
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
    pub fn is_empty(&self) -> bool {
        self.0.expose_secret().is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.is_empty() {
            "\"\""
        } else {
            "\"********\""
        })
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(if self.is_empty() { "" } else { "********" })
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub server: ServerSettings,
    pub store: StoreSettings,
    pub ingest: IngestSettings,
    pub auth: AuthSettings,
    pub queue: QueueSettings,
    pub channels: ChannelSettings,
    pub telemetry: TelemetrySettings,
    pub clv: ClvSettings,
    pub agent: AgentSettings,
    pub embed: EmbedSettings,
    pub analyser: AnalyserSettings,
    pub kb: KbSettings,
    pub vector: VectorSettings,
    pub llm: LlmSettings,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{0}")]
    Invalid(String),
    #[error("config file {path} does not exist")]
    Missing { path: PathBuf },
}

impl Settings {
    /// Loads the layered settings. `env_name` picks `config/<env>.toml`
    /// (looked up relative to the working directory; absent is fine).
    pub fn load(explicit: Option<&Path>, env_name: Option<&str>) -> Result<Settings, ConfigError> {
        let mut fig = Figment::from(Toml::string(DEFAULT_TOML));
        if let Some(env) = env_name {
            let p = PathBuf::from(format!("config/{env}.toml"));
            if p.exists() {
                fig = fig.merge(Toml::file(p));
            }
        }
        if let Some(p) = explicit {
            if !p.exists() {
                return Err(ConfigError::Missing { path: p.to_owned() });
            }
            fig = fig.merge(Toml::file(p));
        }
        fig = fig.merge(Env::prefixed("HOLDFAST__").split("__"));
        let settings: Settings = fig.extract().map_err(|e| {
            let mut msg = String::new();
            for err in e {
                let source = err
                    .metadata
                    .as_ref()
                    .map(|m| match &m.source {
                        Some(src) => format!("{src}"),
                        None => m.name.to_string(),
                    })
                    .unwrap_or_else(|| "settings".into());
                let key = if err.path.is_empty() {
                    String::new()
                } else {
                    format!(" key `{}`", err.path.join("."))
                };
                msg.push_str(&format!("{source}:{key}: {}\n", err.kind));
            }
            ConfigError::Invalid(format!(
                "{}fix: correct or remove the setting; every valid key is listed in config/default.toml",
                msg
            ))
        })?;
        settings.validate()?;
        Ok(settings)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let bad = |m: String| Err(ConfigError::Invalid(m));
        if self.store.backend == Backend::Postgres && self.store.postgres_url.is_empty() {
            return bad("store.backend is postgres but store.postgres_url is empty; set HOLDFAST__STORE__POSTGRES_URL".into());
        }
        if crate::domain::Currency::parse(&self.ingest.default_currency).is_err() {
            return bad(format!(
                "ingest.default_currency {:?} is not an ISO 4217 code",
                self.ingest.default_currency
            ));
        }
        if self
            .ingest
            .default_phone_region
            .parse::<phonenumber::country::Id>()
            .is_err()
        {
            return bad(format!(
                "ingest.default_phone_region {:?} is not an ISO 3166 region",
                self.ingest.default_phone_region
            ));
        }
        if !(1..=10_000).contains(&self.ingest.max_batch) {
            return bad("ingest.max_batch must be between 1 and 10000".into());
        }
        if self.queue.batch == 0 || self.queue.max_attempts == 0 {
            return bad("queue.batch and queue.max_attempts must be at least 1 (queue.workers may be 0: no workers in this process)".into());
        }
        if self.queue.lease_secs == 0 || self.queue.job_timeout_secs == 0 {
            return bad("queue.lease_secs and queue.job_timeout_secs must be at least 1".into());
        }
        if self.store.group_commit_max == 0 || self.store.ingest_lanes == 0 {
            return bad("store.group_commit_max and store.ingest_lanes must be at least 1".into());
        }
        let c = &self.clv;
        if !(c.horizon_days > 0.0
            && (0.0..=1.0).contains(&c.margin)
            && c.monthly_discount_rate > -1.0
            && c.refit_every_hours > 0)
        {
            return bad("clv: horizon_days > 0, margin in [0, 1], monthly_discount_rate > -1 and refit_every_hours ≥ 1 are required".into());
        }
        let a = &self.agent;
        if a.offer_holdout_pct > 100 || !(0.0..=1.0).contains(&a.offer_budget_share) {
            return bad(
                "agent.offer_holdout_pct must be 0..=100 and agent.offer_budget_share 0..=1".into(),
            );
        }
        let k = &self.kb;
        if !((-1.0..=1.0).contains(&k.min_dense) && (0.0..1.0).contains(&k.agree_margin)) {
            return bad(
                "kb.min_dense must be a cosine in [-1, 1] and kb.agree_margin in [0, 1)".into(),
            );
        }
        if self.embed.batch == 0 || self.embed.openai_dim == 0 {
            return bad("embed.batch and embed.openai_dim must be at least 1".into());
        }
        let l = &self.llm;
        if !(l.timeout_secs > 0.0
            && l.max_retry_after_secs >= 0.0
            && (0.0..=2.0).contains(&l.temperature))
            || l.max_tokens == 0
            || (!l.base_url.is_empty() && l.model.is_empty())
        {
            return bad("llm: timeout_secs > 0, max_retry_after_secs >= 0, temperature in [0, 2], max_tokens >= 1 and a model name when base_url is set are required".into());
        }
        let v = &self.vector;
        if v.timeout_ms == 0 || (v.backend == VectorBackend::Server && !v.url.starts_with("http")) {
            return bad("vector: timeout_ms must be at least 1, and backend = \"server\" needs url = http(s)://host:port".into());
        }
        for t in &self.auth.api_tokens {
            if t.token.expose().len() < 16 {
                return bad(format!(
                    "auth.api_tokens: the token named {:?} is shorter than 16 characters",
                    t.name
                ));
            }
        }
        Ok(())
    }

    /// The effective settings as TOML, secrets masked.
    pub fn to_masked_toml(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_else(|e| format!("# could not render settings: {e}"))
    }
}

#[cfg(test)]
// figment's Jail API fixes the closure's error type.
#[allow(clippy::result_large_err)]
mod tests {
    use super::*;

    #[test]
    fn defaults_load_and_secrets_mask() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("HOLDFAST__AUTH__HMAC_SECRET", "super-secret-value");
            jail.set_env("HOLDFAST__QUEUE__WORKERS", "7");
            let s = Settings::load(None, None).map_err(|e| e.to_string())?;
            assert_eq!(s.queue.workers, 7);
            assert!(s.queue.job_timeout_secs > s.queue.lease_secs);
            assert_eq!(s.auth.hmac_secret.expose(), "super-secret-value");
            let shown = s.to_masked_toml();
            assert!(!shown.contains("super-secret-value"));
            assert!(shown.contains("********"));
            assert!(!format!("{s:?}").contains("super-secret-value"));
            Ok(())
        });
    }

    #[test]
    fn the_llm_is_off_by_default_and_set_from_the_environment() {
        figment::Jail::expect_with(|jail| {
            let s = Settings::load(None, None).map_err(|e| e.to_string())?;
            assert!(s.llm.base_url.is_empty());
            jail.set_env("HOLDFAST__LLM__BASE_URL", "http://127.0.0.1:11434/v1");
            jail.set_env("HOLDFAST__LLM__API_KEY", "sk-very-secret-key");
            let s = Settings::load(None, None).map_err(|e| e.to_string())?;
            assert_eq!(s.llm.base_url, "http://127.0.0.1:11434/v1");
            assert!(!s.to_masked_toml().contains("sk-very-secret-key"));
            jail.set_env("HOLDFAST__LLM__TIMEOUT_SECS", "0");
            assert!(Settings::load(None, None).is_err());
            Ok(())
        });
    }

    #[test]
    fn a_zero_lease_or_job_timeout_is_refused() {
        for key in [
            "HOLDFAST__QUEUE__LEASE_SECS",
            "HOLDFAST__QUEUE__JOB_TIMEOUT_SECS",
        ] {
            figment::Jail::expect_with(|jail| {
                jail.set_env(key, "0");
                let e = Settings::load(None, None).unwrap_err().to_string();
                assert!(e.contains("job_timeout_secs"), "{e}");
                Ok(())
            });
        }
    }

    #[test]
    fn a_negative_agree_margin_is_refused() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("HOLDFAST__KB__AGREE_MARGIN", "-0.1");
            let e = Settings::load(None, None).unwrap_err().to_string();
            assert!(e.contains("kb.agree_margin"), "{e}");
            jail.set_env("HOLDFAST__KB__AGREE_MARGIN", "0.01");
            assert!(Settings::load(None, None).is_ok());
            Ok(())
        });
    }

    #[test]
    fn unknown_keys_are_errors_naming_the_key() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("HOLDFAST__QUEUE__WORKRES", "7");
            let e = Settings::load(None, None).unwrap_err().to_string();
            assert!(e.contains("workres"), "{e}");
            Ok(())
        });
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "extra.toml",
                "[server]\nlisten = \"127.0.0.1:1\"\nbogus = 1\n",
            )?;
            let e = Settings::load(Some(Path::new("extra.toml")), None)
                .unwrap_err()
                .to_string();
            assert!(e.contains("bogus") && e.contains("extra.toml"), "{e}");
            Ok(())
        });
    }
}
