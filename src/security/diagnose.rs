//! librdkafka's connection errors in the words a user can act on. A client that cannot connect
//! only times out; the reason is in the errors librdkafka reported on the way, which
//! [`ErrorLog`] keeps, and [`explain`] names the cause: credentials refused (with the mechanism),
//! a certificate not trusted (with the CA file), TLS against plaintext or the reverse.

use std::sync::Mutex;

use super::KafkaSecurity;

/// The most telling connection error a client has seen (authentication and TLS errors win over
/// "all brokers down", which every failure ends in).
#[derive(Debug, Default)]
pub struct ErrorLog {
    last: Mutex<Option<String>>,
}

impl ErrorLog {
    /// Keep `reason` unless a more telling one is already kept.
    pub fn record(&self, reason: &str) {
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        let weak = |s: &str| s.contains("brokers are down") || s.contains("Local: All broker");
        if last.as_deref().is_none_or(weak) || !weak(reason) {
            *last = Some(reason.to_string());
        }
    }

    /// Forget what was kept: the connection works again.
    pub fn clear(&self) {
        *self.last.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }

    /// The kept error, if any.
    pub fn last(&self) -> Option<String> {
        self.last.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// What went wrong connecting to `bootstrap` with `security`, given librdkafka's error text;
/// `None` when the text says nothing a user could act on.
pub fn explain(raw: &str, bootstrap: &str, security: &KafkaSecurity) -> Option<String> {
    let seen = Seen {
        raw,
        low: raw.to_lowercase(),
        bootstrap,
        security,
    };
    // In the order of precedence: a text can hold several of these words.
    (seen.credentials())
        .or_else(|| seen.trust())
        .or_else(|| seen.tls_mismatch())
        .or_else(|| seen.client_certificate())
        .or_else(|| seen.sasl_mismatch())
        .or_else(|| seen.refused())
}

/// librdkafka's error text and what kbench connected with.
struct Seen<'a> {
    raw: &'a str,
    low: String,
    bootstrap: &'a str,
    security: &'a KafkaSecurity,
}

impl Seen<'_> {
    fn has(&self, any: &[&str]) -> bool {
        any.iter().any(|w| self.low.contains(w))
    }

    /// SASL refused the user.
    fn credentials(&self) -> Option<String> {
        if !self.has(&["authentication failed", "sasl authentication error"]) {
            return None;
        }
        let who = self.security.sasl.as_ref().map_or_else(
            || "the client".to_string(),
            |s| format!("user {} with SASL mechanism {}", s.username, s.mechanism),
        );
        Some(format!(
            "authentication failed: the brokers at {} refused {who} (wrong user name or \
             password, or the mechanism is not enabled for that user)",
            self.bootstrap
        ))
    }

    /// The brokers' certificate names another host, or is not trusted.
    fn trust(&self) -> Option<String> {
        let bootstrap = self.bootstrap;
        if self.has(&["hostname mismatch", "ip address mismatch"]) {
            return Some(format!(
                "the brokers' TLS certificate does not name the host in {bootstrap}; use the \
                 name it was issued for, or set verify_hostname = false in [cluster.security]"
            ));
        }
        if !self.has(&["certificate verify failed", "unable to get local issuer"]) {
            return None;
        }
        let ca = match self.security.tls.as_ref().and_then(|t| t.ca_file.as_ref()) {
            Some(p) => format!("the CA file {}", p.display()),
            None => "the system's CAs (no ca_file is set)".to_string(),
        };
        Some(format!(
            "the brokers' TLS certificate at {bootstrap} is not trusted by {ca}: ca_file must be \
             the CA that signed the brokers' certificates"
        ))
    }

    /// TLS against a plaintext listener, or the reverse.
    fn tls_mismatch(&self) -> Option<String> {
        let (bootstrap, protocol) = (self.bootstrap, self.security.protocol);
        if self.has(&["connecting to a ssl listener"]) {
            return Some(format!(
                "the brokers at {bootstrap} expect TLS but kbench connected with {protocol}: set \
                 protocol = \"SSL\" or \"SASL_SSL\" in [cluster.security]"
            ));
        }
        let plain = [
            "wrong version number",
            "packet length too long",
            "connecting to a plaintext",
        ];
        self.has(&plain).then(|| {
            format!(
                "the brokers at {bootstrap} do not speak TLS but kbench connected with \
                 {protocol}: set protocol = \"PLAINTEXT\" or \"SASL_PLAINTEXT\" in \
                 [cluster.security]"
            )
        })
    }

    /// kbench's client certificate refused, or none presented where one is wanted.
    fn client_certificate(&self) -> Option<String> {
        let bootstrap = self.bootstrap;
        if self.has(&["alert bad certificate", "alert unknown ca"]) {
            let cert = self
                .security
                .tls
                .as_ref()
                .and_then(|t| t.cert_file.as_ref());
            return Some(match cert {
                Some(c) => format!(
                    "the brokers at {bootstrap} refused kbench's TLS client certificate {}: it \
                     is not signed by a CA they trust (mutual TLS)",
                    c.display()
                ),
                None => format!(
                    "the brokers at {bootstrap} want a TLS client certificate (mutual TLS) and \
                     kbench presented none; set cert_file and key_file in [cluster.security]"
                ),
            });
        }
        self.has(&["certificate required", "alert handshake failure"])
            .then(|| {
                format!(
                    "the brokers at {bootstrap} refused the TLS handshake: they want a client \
                     certificate (mutual TLS); set cert_file and key_file in [cluster.security]"
                )
            })
    }

    /// SASL on one side only, or a connection closed at the first request for want of it.
    fn sasl_mismatch(&self) -> Option<String> {
        let (bootstrap, protocol) = (self.bootstrap, self.security.protocol);
        let sasl = [
            "connecting to a sasl listener",
            "unsupported sasl mechanism",
            "sasl handshake",
        ];
        if self.has(&sasl) {
            return Some(format!(
                "the brokers at {bootstrap} and kbench disagree on SASL ({}); check protocol and \
                 sasl_mechanism in [cluster.security]",
                self.raw
            ));
        }
        let closed = self.has(&["connection closed by peer"]);
        if closed && !protocol.tls() && self.has(&["apiversion_query"]) {
            return Some(format!(
                "the brokers at {bootstrap} closed the connection at kbench's first request: \
                 they most likely expect TLS, and kbench connected with {protocol}; set \
                 protocol = \"SSL\" or \"SASL_SSL\" in [cluster.security]"
            ));
        }
        (closed && protocol.tls() && !protocol.sasl()).then(|| {
            format!(
                "the brokers at {bootstrap} closed the TLS connection at kbench's first request: \
                 they most likely expect SASL (protocol = \"SASL_SSL\" with a user and password) \
                 or a client certificate kbench did not present (cert_file, key_file)"
            )
        })
    }

    /// Nothing listens.
    fn refused(&self) -> Option<String> {
        (self.has(&["connection refused"])).then(|| {
            format!(
                "no broker listens at {} (connection refused)",
                self.bootstrap
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::security::{Mechanism, Protocol, Sasl, Secret, Tls};

    fn sec() -> KafkaSecurity {
        KafkaSecurity {
            protocol: Protocol::SaslSsl,
            sasl: Some(Sasl {
                mechanism: Mechanism::ScramSha512,
                username: "kbench".into(),
                password: Secret::new("x"),
            }),
            tls: Some(Tls {
                ca_file: Some("/tmp/ca.pem".into()),
                verify_hostname: true,
                ..Tls::default()
            }),
        }
    }

    #[test]
    fn librdkafka_texts_become_causes() {
        let auth = "sasl_ssl://127.0.0.1:9092/bootstrap: SASL authentication error: Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512 (after 5ms in state AUTH_REQ)";
        let e = explain(auth, "h:1", &sec()).unwrap();
        assert!(
            e.contains("user kbench with SASL mechanism SCRAM-SHA-512"),
            "{e}"
        );
        let ca = "ssl://127.0.0.1:9092/bootstrap: SSL handshake failed: error:0A000086:SSL routines::certificate verify failed: broker certificate could not be verified, verify that ssl.ca.location is correctly configured or root CA certificates are installed (install ca-certificates package) (after 3ms in state SSL_HANDSHAKE)";
        assert!(explain(ca, "h:1", &sec()).unwrap().contains("/tmp/ca.pem"));
        let plain = "127.0.0.1:9092/bootstrap: Disconnected while requesting ApiVersion: might be caused by incorrect security.protocol configuration (connecting to a SSL listener?) or broker version is < 0.10 (see api.version.request) (after 1ms in state APIVERSION_QUERY)";
        assert!(explain(plain, "h:1", &KafkaSecurity::default())
            .unwrap()
            .contains("expect TLS but kbench connected with PLAINTEXT"));
        assert_eq!(explain("Local: Timed out", "h:1", &sec()), None);
    }

    #[test]
    fn the_telling_error_outlives_brokers_down() {
        let log = ErrorLog::default();
        log.record("SASL authentication error: Authentication failed");
        log.record("1/1 brokers are down");
        assert!(log.last().unwrap().contains("SASL"));
        let fresh = ErrorLog::default();
        fresh.record("1/1 brokers are down");
        fresh.record("Connection refused");
        assert_eq!(fresh.last().unwrap(), "Connection refused");
    }
}
