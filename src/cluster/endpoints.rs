//! Where a cluster answers and how every client connects to it: the brokers (bootstrap list and
//! security) and the registry (URL and auth). Every backend gives its own; the command line's
//! `produce` / `consume` build one from their flags.

use crate::kafka::Brokers;
use crate::security::registry::Registry;
use crate::security::ClientSecurity;

/// Where the cluster answers, and how every client of a run connects to it.
#[derive(Debug, Clone)]
pub struct Endpoints {
    /// The brokers: bootstrap list and security.
    pub brokers: Brokers,
    /// The registry: URL and auth.
    pub registry: Registry,
}

impl Endpoints {
    /// The brokers at `bootstrap` and the registry at `registry_url`, both reached with
    /// `security`.
    pub fn new(bootstrap: String, registry_url: String, security: ClientSecurity) -> Endpoints {
        let (kafka, registry) = crate::security::spec::shared(security);
        Endpoints {
            brokers: Brokers::new(bootstrap, kafka),
            registry: Registry::new(registry_url, registry),
        }
    }

    /// The security every client of these endpoints uses, whole.
    pub fn security(&self) -> ClientSecurity {
        ClientSecurity {
            kafka: (*self.brokers.security).clone(),
            registry: (*self.registry.auth).clone(),
        }
    }
}
