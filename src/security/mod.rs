//! How kbench's clients prove who they are and whom they trust: one [`ClientSecurity`] built
//! from `[cluster.security]` (or from a secured local cluster's own files), turned into librdkafka
//! properties, Java client properties and registry-client settings here and nowhere else, and
//! handed to every client kbench creates. No client is built from `bootstrap.servers` alone.

pub mod diagnose;
pub mod java_config;
pub mod registry;
pub mod secret;
pub mod spec;

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

pub use secret::Secret;

/// `security.protocol`, as Kafka names it; the name (`SASL_SSL`, read in any case) comes from
/// the variant, for scenarios, serde and messages alike.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Default,
    Serialize,
    Deserialize,
    strum::EnumString,
    strum::IntoStaticStr,
    strum::Display,
    strum::VariantNames,
    strum::VariantArray,
)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[strum(serialize_all = "SCREAMING_SNAKE_CASE", ascii_case_insensitive)]
pub enum Protocol {
    /// No encryption, no authentication (the local cluster's default).
    #[default]
    Plaintext,
    /// TLS; with a client certificate, mutual TLS.
    Ssl,
    /// SASL without TLS.
    SaslPlaintext,
    /// SASL over TLS.
    SaslSsl,
}

impl Protocol {
    /// The name Kafka and librdkafka use (`SASL_SSL`).
    pub fn name(self) -> &'static str {
        self.into()
    }

    /// Parse a name, case-insensitively.
    pub fn parse(s: &str) -> Option<Protocol> {
        s.parse().ok()
    }

    /// Whether connections use TLS.
    pub fn tls(self) -> bool {
        matches!(self, Protocol::Ssl | Protocol::SaslSsl)
    }

    /// Whether connections authenticate with SASL.
    pub fn sasl(self) -> bool {
        matches!(self, Protocol::SaslPlaintext | Protocol::SaslSsl)
    }
}

/// `sasl.mechanism`, named as Kafka names it (read in any case). OAUTHBEARER is not offered:
/// kbench's librdkafka is built without libcurl, which its OIDC token retrieval needs.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    strum::EnumString,
    strum::IntoStaticStr,
    strum::Display,
    strum::VariantNames,
    strum::VariantArray,
)]
#[strum(ascii_case_insensitive)]
pub enum Mechanism {
    /// User name and password sent as they are (use it over TLS only).
    #[serde(rename = "PLAIN")]
    #[strum(serialize = "PLAIN")]
    Plain,
    /// Salted challenge-response with SHA-256.
    #[serde(rename = "SCRAM-SHA-256")]
    #[strum(serialize = "SCRAM-SHA-256")]
    ScramSha256,
    /// Salted challenge-response with SHA-512.
    #[serde(rename = "SCRAM-SHA-512")]
    #[strum(serialize = "SCRAM-SHA-512")]
    ScramSha512,
}

impl Mechanism {
    /// The name Kafka and librdkafka use.
    pub fn name(self) -> &'static str {
        self.into()
    }

    /// Parse a name, case-insensitively.
    pub fn parse(s: &str) -> Option<Mechanism> {
        s.parse().ok()
    }

    /// The JAAS login module a Java client uses for this mechanism.
    fn login_module(self) -> &'static str {
        match self {
            Mechanism::Plain => "org.apache.kafka.common.security.plain.PlainLoginModule",
            _ => "org.apache.kafka.common.security.scram.ScramLoginModule",
        }
    }
}

/// SASL credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sasl {
    /// The mechanism.
    pub mechanism: Mechanism,
    /// User name.
    pub username: String,
    /// Password, from the environment or a file.
    pub password: Secret,
}

/// What a TLS client trusts and, for mutual TLS, presents.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Tls {
    /// PEM file of the CA(s) to trust; the system's trust store when `None`.
    pub ca_file: Option<PathBuf>,
    /// PEM client certificate (mutual TLS), with `key_file`.
    pub cert_file: Option<PathBuf>,
    /// PEM private key of the client certificate.
    pub key_file: Option<PathBuf>,
    /// Passphrase of an encrypted `key_file`.
    pub key_password: Option<Secret>,
    /// Check that the broker's certificate names the host connected to (default on).
    pub verify_hostname: bool,
}

/// How kbench's Kafka clients connect.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct KafkaSecurity {
    /// `security.protocol`.
    pub protocol: Protocol,
    /// SASL credentials; set exactly when the protocol uses SASL.
    pub sasl: Option<Sasl>,
    /// TLS settings; set exactly when the protocol uses TLS.
    pub tls: Option<Tls>,
}

/// How kbench's registry requests authenticate and what they trust.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RegistryAuth {
    /// HTTP basic auth: user name and password (Confluent's `basic.auth.user.info`).
    pub basic: Option<(String, Secret)>,
    /// PEM CA file to trust for an `https://` registry, besides the system's.
    pub ca_file: Option<PathBuf>,
}

/// Everything about how kbench's clients connect: Kafka and registry.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ClientSecurity {
    /// The Kafka clients' side.
    pub kafka: KafkaSecurity,
    /// The registry client's side.
    pub registry: RegistryAuth,
}

impl KafkaSecurity {
    /// librdkafka properties, secrets included: only for a `ClientConfig`, never for output.
    pub fn rdkafka_properties(&self) -> Vec<(&'static str, String)> {
        let mut out = vec![("security.protocol", self.protocol.name().to_lowercase())];
        if let Some(s) = &self.sasl {
            out.push(("sasl.mechanism", s.mechanism.name().to_string()));
            out.push(("sasl.username", s.username.clone()));
            out.push(("sasl.password", s.password.expose().to_string()));
        }
        if let Some(t) = &self.tls {
            let path = |p: &PathBuf| p.display().to_string();
            out.extend(t.ca_file.as_ref().map(|p| ("ssl.ca.location", path(p))));
            out.extend(
                t.cert_file
                    .as_ref()
                    .map(|p| ("ssl.certificate.location", path(p))),
            );
            out.extend(t.key_file.as_ref().map(|p| ("ssl.key.location", path(p))));
            out.extend(
                t.key_password
                    .as_ref()
                    .map(|s| ("ssl.key.password", s.expose().to_string())),
            );
            let verify = if t.verify_hostname { "https" } else { "none" };
            out.push(("ssl.endpoint.identification.algorithm", verify.to_string()));
        }
        out
    }

    /// Java client properties (for `kafka-producer-perf-test`), secrets included: written to a
    /// private file, never to a command line. `keystore` is a PEM file holding the client key
    /// followed by its certificate, as Kafka's PEM key store wants them.
    pub fn java_properties(&self, keystore: Option<&std::path::Path>) -> Vec<(String, String)> {
        let mut out = vec![(
            "security.protocol".to_string(),
            self.protocol.name().to_string(),
        )];
        if let Some(s) = &self.sasl {
            out.push(("sasl.mechanism".into(), s.mechanism.name().into()));
            out.push((
                "sasl.jaas.config".into(),
                format!(
                    "{} required username=\"{}\" password=\"{}\";",
                    s.mechanism.login_module(),
                    s.username,
                    s.password.expose()
                ),
            ));
        }
        if let Some(t) = &self.tls {
            if let Some(ca) = &t.ca_file {
                out.push(("ssl.truststore.type".into(), "PEM".into()));
                out.push(("ssl.truststore.location".into(), ca.display().to_string()));
            }
            if let Some(ks) = keystore {
                out.push(("ssl.keystore.type".into(), "PEM".into()));
                out.push(("ssl.keystore.location".into(), ks.display().to_string()));
            }
            if let Some(p) = &t.key_password {
                out.push(("ssl.key.password".into(), p.expose().into()));
            }
            let verify = if t.verify_hostname { "https" } else { "" };
            out.push((
                "ssl.endpoint.identification.algorithm".into(),
                verify.into(),
            ));
        }
        out
    }

    /// One line for progress notes and reports, without secrets: `SASL_SSL, SCRAM-SHA-512 as
    /// kbench, CA /x/ca.pem`.
    pub fn describe(&self) -> String {
        let mut parts = vec![self.protocol.name().to_string()];
        if let Some(s) = &self.sasl {
            parts.push(format!("{} as {}", s.mechanism, s.username));
        }
        if let Some(t) = &self.tls {
            parts.push(match &t.ca_file {
                Some(ca) => format!("CA {}", ca.display()),
                None => "system CAs".into(),
            });
            if let Some(c) = &t.cert_file {
                parts.push(format!("client certificate {}", c.display()));
            }
            if !t.verify_hostname {
                parts.push("hostname not verified".into());
            }
        }
        parts.join(", ")
    }

    /// The secrets this holds, for redaction.
    pub fn secrets(&self) -> Vec<&Secret> {
        let sasl = self.sasl.iter().map(|s| &s.password);
        let key = self.tls.iter().filter_map(|t| t.key_password.as_ref());
        sasl.chain(key).collect()
    }
}

impl ClientSecurity {
    /// Every secret this holds, for redaction.
    pub fn secrets(&self) -> Vec<&Secret> {
        let mut out = self.kafka.secrets();
        out.extend(self.registry.basic.iter().map(|(_, p)| p));
        out
    }

    /// `text` with every secret this holds replaced by `***`.
    pub fn redact(&self, text: &str) -> String {
        secret::redact(text, &self.secrets())
    }

    /// One line for reports, without secrets; `None` for plaintext without registry auth.
    pub fn describe(&self) -> Option<String> {
        if *self == ClientSecurity::default() {
            return None;
        }
        let mut s = self.kafka.describe();
        if let Some((user, _)) = &self.registry.basic {
            s.push_str(&format!("; registry basic auth as {user}"));
        }
        if let Some(ca) = &self.registry.ca_file {
            s.push_str(&format!("; registry CA {}", ca.display()));
        }
        Some(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sasl_ssl() -> KafkaSecurity {
        KafkaSecurity {
            protocol: Protocol::SaslSsl,
            sasl: Some(Sasl {
                mechanism: Mechanism::ScramSha512,
                username: "kbench".into(),
                password: Secret::new("pw-123"),
            }),
            tls: Some(Tls {
                ca_file: Some("/c/ca.pem".into()),
                verify_hostname: true,
                ..Tls::default()
            }),
        }
    }

    #[test]
    fn librdkafka_gets_every_setting() {
        let props = sasl_ssl().rdkafka_properties();
        let get = |k: &str| {
            props
                .iter()
                .find(|(kk, _)| *kk == k)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(get("security.protocol"), Some("sasl_ssl"));
        assert_eq!(get("sasl.mechanism"), Some("SCRAM-SHA-512"));
        assert_eq!(get("sasl.password"), Some("pw-123"));
        assert_eq!(get("ssl.ca.location"), Some("/c/ca.pem"));
        assert_eq!(get("ssl.endpoint.identification.algorithm"), Some("https"));
        let plain = KafkaSecurity::default().rdkafka_properties();
        assert_eq!(plain, vec![("security.protocol", "plaintext".to_string())]);
    }

    #[test]
    fn java_clients_get_a_jaas_line_and_descriptions_no_secret() {
        let props = sasl_ssl().java_properties(None);
        let jaas = &props
            .iter()
            .find(|(k, _)| k == "sasl.jaas.config")
            .unwrap()
            .1;
        assert!(
            jaas.starts_with("org.apache.kafka.common.security.scram.ScramLoginModule required")
        );
        assert!(jaas.contains("password=\"pw-123\""));
        let sec = ClientSecurity {
            kafka: sasl_ssl(),
            registry: RegistryAuth {
                basic: Some(("reg".into(), Secret::new("rpw"))),
                ca_file: None,
            },
        };
        let d = sec.describe().unwrap();
        assert_eq!(
            d,
            "SASL_SSL, SCRAM-SHA-512 as kbench, CA /c/ca.pem; registry basic auth as reg"
        );
        assert_eq!(sec.redact("x pw-123 rpw"), "x *** ***");
        assert_eq!(ClientSecurity::default().describe(), None);
    }

    #[test]
    fn names_parse_both_ways() {
        use strum::VariantArray;
        for p in Protocol::VARIANTS {
            assert_eq!(Protocol::parse(&p.name().to_lowercase()), Some(*p));
            assert_eq!(serde_json::to_string(p).unwrap(), format!("\"{p}\""));
        }
        for m in Mechanism::VARIANTS {
            assert_eq!(Mechanism::parse(&m.name().to_lowercase()), Some(*m));
            assert_eq!(serde_json::to_string(m).unwrap(), format!("\"{m}\""));
        }
        assert_eq!(Protocol::SaslSsl.name(), "SASL_SSL");
        assert_eq!(Mechanism::ScramSha256.name(), "SCRAM-SHA-256");
        assert_eq!(Mechanism::parse("OAUTHBEARER"), None);
    }
}
