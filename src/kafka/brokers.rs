//! The brokers as a client reaches them: the bootstrap list and the security every librdkafka
//! client kbench creates carries. `client_config` is the only way kbench starts a Kafka client's
//! configuration, so none connects in plaintext by accident.

use std::fmt;
use std::sync::Arc;

use rdkafka::config::ClientConfig;

use crate::security::KafkaSecurity;

/// A Kafka cluster's bootstrap list and how to connect to it.
#[derive(Debug, Clone)]
pub struct Brokers {
    /// Comma-separated `host:port` list.
    pub bootstrap: String,
    /// Protocol, SASL and TLS settings.
    pub security: Arc<KafkaSecurity>,
}

impl fmt::Display for Brokers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.bootstrap)
    }
}

impl Brokers {
    /// Brokers at `bootstrap`, reached with `security`.
    pub fn new(bootstrap: impl Into<String>, security: Arc<KafkaSecurity>) -> Brokers {
        Brokers {
            bootstrap: bootstrap.into(),
            security,
        }
    }

    /// Brokers reached in plaintext (the local cluster's default).
    pub fn plain(bootstrap: impl Into<String>) -> Brokers {
        Brokers::new(bootstrap, Arc::new(KafkaSecurity::default()))
    }

    /// A librdkafka configuration with `bootstrap.servers` and every security property set.
    pub fn client_config(&self) -> ClientConfig {
        let mut cc = ClientConfig::new();
        cc.set("bootstrap.servers", &self.bootstrap);
        for (k, v) in self.security.rdkafka_properties() {
            cc.set(k, v);
        }
        cc
    }
}
