//! The broker connection of the configuration, for the daemon's watch and the `monitor`
//! command alike: the AMQP URL (configured, or the engines' own), the vhost it names, the
//! management API and its credentials, the engine queue prefixes. Nothing here contacts the
//! broker.

use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use percent_encoding::percent_decode_str;

use super::management::{Credentials, Management};
use super::watch::WatchTarget;
use crate::config::{CredentialSource, Settings};
use crate::support::url::redact_url;

/// How long one management request may take.
pub const MANAGEMENT_TIMEOUT: Duration = Duration::from_secs(5);

/// The AMQP URL and where it was configured.
struct AmqpSource {
    url: String,
    origin: String,
}

fn amqp_source(settings: &Settings) -> Result<AmqpSource> {
    if let Some(url) = &settings.rabbitmq.amqp_url {
        return Ok(AmqpSource {
            url: url.clone(),
            origin: "rabbitmq.amqp_url".into(),
        });
    }
    let path = &settings.engine_env_file;
    let env = crate::install::EngineEnv::read(path).with_context(|| {
        format!(
            "rabbitmq.amqp_url is not set, and the engines' environment file {} \
             (install.engine_env_file), where CPS_AMQP_URL would be, cannot be read",
            path.display()
        )
    })?;
    let url = env
        .get("CPS_AMQP_URL")
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| {
            anyhow!(
                "rabbitmq.amqp_url is not set, and the engines' environment file {} \
                 (install.engine_env_file) has no CPS_AMQP_URL: set rabbitmq.amqp_url",
                path.display()
            )
        })?;
    Ok(AmqpSource {
        url: url.to_owned(),
        origin: format!("CPS_AMQP_URL in {}", path.display()),
    })
}

/// The vhost an AMQP URL names: its path, percent-decoded; `/` when there is none.
fn url_vhost(url: &reqwest::Url) -> String {
    let path = url.path();
    let raw = path.strip_prefix('/').unwrap_or(path);
    if raw.is_empty() {
        "/".into()
    } else {
        percent_decode_str(raw).decode_utf8_lossy().into_owned()
    }
}

/// The user and password of an AMQP URL (guest/guest without any, as AMQP itself assumes).
fn url_credentials(url: &reqwest::Url, origin: &str) -> Result<Credentials> {
    if url.username().is_empty() {
        return Ok(Credentials::new("guest", "guest"));
    }
    let user = percent_decode_str(url.username())
        .decode_utf8()
        .map_err(|_| anyhow!("{origin}: the user name is not UTF-8 once decoded"))?;
    let password = percent_decode_str(url.password().unwrap_or(""))
        .decode_utf8()
        .map_err(|_| anyhow!("{origin}: the password is not UTF-8 once decoded"))?;
    Ok(Credentials::new(user, password))
}

/// The broker of the configuration: how to reach it, and where its AMQP URL came from.
#[derive(Debug)]
pub struct BrokerConnection {
    /// The management API client (queue discovery).
    pub management: Management,
    /// The live counts' target (AMQP URL, vhost, engine queues, retry budget).
    pub target: WatchTarget,
    /// Where the AMQP URL was configured (`rabbitmq.amqp_url`, or `CPS_AMQP_URL in <file>`).
    pub amqp_origin: String,
}

/// The management client and the watch target of the configuration: the AMQP URL from
/// `rabbitmq.amqp_url` or else CPS_AMQP_URL of the engines' environment file
/// (`install.engine_env_file`), which must name `rabbitmq.vhost`; the management credentials
/// from `rabbitmq.credentials_file` or `rabbitmq.credential` (systemd), or else the user and
/// password of the AMQP URL; the queue prefixes. Nothing is contacted. Errors name the
/// setting or the file, never a password.
pub fn resolve(settings: &Settings) -> Result<BrokerConnection> {
    let r = &settings.rabbitmq;
    let source = amqp_source(settings)?;
    let origin = &source.origin;
    let url = reqwest::Url::parse(&source.url)
        .map_err(|e| anyhow!("{origin}: not a valid AMQP URL ({e})"))?;
    if !matches!(url.scheme(), "amqp" | "amqps") {
        bail!(
            "{origin}: {} is not an amqp:// or amqps:// URL",
            redact_url(&source.url)
        );
    }
    let vhost = url_vhost(&url);
    if vhost != r.vhost {
        bail!(
            "rabbitmq.vhost is {:?} but the AMQP URL ({origin}: {}) is for vhost {vhost:?}: \
             set rabbitmq.vhost to {vhost:?}, or fix the URL",
            r.vhost,
            redact_url(&source.url)
        );
    }
    let credentials = match &r.credentials {
        CredentialSource::File(path) => Credentials::from_file(path)
            .with_context(|| format!("rabbitmq.credentials_file = {}", path.display()))?,
        CredentialSource::Systemd(name) => Credentials::from_systemd_credential(name)
            .with_context(|| format!("rabbitmq.credential = {name:?}"))?,
        CredentialSource::None => url_credentials(&url, origin)?,
    };
    let management = Management::new(&r.management_url, credentials, MANAGEMENT_TIMEOUT)
        .context("rabbitmq.management_url")?;
    let mut target = WatchTarget::new(source.url.clone(), vhost);
    target.selection.prefixes = r.queue_prefixes.clone();
    target.retry_budget = r.retry_budget;
    Ok(BrokerConnection {
        management,
        target,
        amqp_origin: source.origin,
    })
}

/// [`resolve`], as the daemon's watch takes it: the management client and the watch target.
pub fn from_settings(settings: &Settings) -> Result<(Management, WatchTarget)> {
    let resolved = resolve(settings)?;
    Ok((resolved.management, resolved.target))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Source;

    fn settings(text: &str) -> Settings {
        Settings::from_sources(&[Source {
            file: "/etc/canopsis-upgrade/config.toml".into(),
            text: text.into(),
        }])
        .unwrap()
    }

    #[test]
    fn the_connection_comes_from_the_rabbitmq_section() {
        let dir = tempfile::tempdir().unwrap();
        let creds = dir.path().join("rabbitmq");
        std::fs::write(&creds, "admin:s3cret-file\n").unwrap();
        let s = settings(&format!(
            "[rabbitmq]\namqp_url = \"amqp://cps:s3cret@mq:5672/cps%2Fprod\"\n\
             management_url = \"http://mq:15672/\"\nvhost = \"cps/prod\"\n\
             queue_prefixes = [\"Engine_\"]\ncredentials_file = \"{}\"\n",
            creds.display()
        ));
        let (management, target) = from_settings(&s).unwrap();
        assert_eq!(management.base_url(), "http://mq:15672");
        assert_eq!(management.user(), "admin");
        assert_eq!(target.amqp_url, "amqp://cps:s3cret@mq:5672/cps%2Fprod");
        assert_eq!(target.vhost, "cps/prod");
        assert_eq!(target.selection.prefixes, ["Engine_"]);
        assert!(!format!("{management:?}").contains("s3cret"));
    }

    #[test]
    fn without_credentials_those_of_the_amqp_url_are_used() {
        let s = settings("[rabbitmq]\namqp_url = \"amqp://cps%40rabbit:p%3Ass@mq/canopsis\"\n");
        let resolved = resolve(&s).unwrap();
        assert_eq!(resolved.management.user(), "cps@rabbit");
        assert_eq!(resolved.amqp_origin, "rabbitmq.amqp_url");
        let s = settings("[rabbitmq]\namqp_url = \"amqp://mq\"\nvhost = \"/\"\n");
        let (management, target) = from_settings(&s).unwrap();
        assert_eq!(management.user(), "guest");
        assert_eq!(target.vhost, "/");
    }

    #[test]
    fn the_amqp_url_comes_from_the_engines_environment_file_otherwise() {
        let dir = tempfile::tempdir().unwrap();
        let env = dir.path().join("go-engines-vars.conf");
        std::fs::write(
            &env,
            "CPS_MONGO_URL=mongodb://x\nCPS_AMQP_URL=\"amqp://cpsrabbit:canopsis@localhost:5672/canopsis\"\n",
        )
        .unwrap();
        let s = settings(&format!(
            "[install]\nengine_env_file = \"{}\"\n",
            env.display()
        ));
        let resolved = resolve(&s).unwrap();
        assert_eq!(
            resolved.target.amqp_url,
            "amqp://cpsrabbit:canopsis@localhost:5672/canopsis"
        );
        assert_eq!(resolved.management.user(), "cpsrabbit");
        assert_eq!(
            resolved.amqp_origin,
            format!("CPS_AMQP_URL in {}", env.display())
        );
    }

    #[test]
    fn errors_name_the_setting_or_the_file_never_a_password() {
        let dir = tempfile::tempdir().unwrap();
        let env = dir.path().join("go-engines-vars.conf");
        let with_env = |text: &str| {
            settings(&format!(
                "[install]\nengine_env_file = \"{}\"\n{text}",
                env.display()
            ))
        };
        let message = |s: &Settings| format!("{:#}", from_settings(s).unwrap_err());

        let text = message(&with_env(""));
        assert!(text.contains("rabbitmq.amqp_url is not set"), "{text}");
        assert!(text.contains(&env.display().to_string()), "{text}");
        assert!(text.contains("cannot be read"), "{text}");

        std::fs::write(&env, "CPS_MONGO_URL=mongodb://x\n").unwrap();
        let text = message(&with_env(""));
        assert!(text.contains("has no CPS_AMQP_URL"), "{text}");

        std::fs::write(&env, "CPS_AMQP_URL=http://u:s3cret@h/canopsis\n").unwrap();
        let text = message(&with_env(""));
        assert!(text.contains("not an amqp:// or amqps:// URL"), "{text}");
        assert!(text.contains("CPS_AMQP_URL in"), "{text}");
        assert!(!text.contains("s3cret"), "{text}");

        std::fs::write(&env, "CPS_AMQP_URL=amqp://u:s3cret@h/other\n").unwrap();
        let text = message(&with_env(""));
        assert!(
            text.contains("rabbitmq.vhost is \"canopsis\" but the AMQP URL")
                && text.contains("\"other\""),
            "{text}"
        );
        assert!(!text.contains("s3cret"), "{text}");

        let text = message(&with_env(&format!(
            "[rabbitmq]\nvhost = \"other\"\ncredentials_file = \"{}/missing\"\n",
            dir.path().display()
        )));
        assert!(text.starts_with("rabbitmq.credentials_file = "), "{text}");
        assert!(text.contains("missing"), "{text}");
        assert!(!text.contains("s3cret"), "{text}");

        // $CREDENTIALS_DIRECTORY is not set here, or has no such credential.
        let text = message(&with_env(
            "[rabbitmq]\nvhost = \"other\"\ncredential = \"cu-test-none\"\n",
        ));
        assert!(
            text.starts_with("rabbitmq.credential = \"cu-test-none\""),
            "{text}"
        );
    }
}
