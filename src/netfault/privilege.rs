//! Whether this kbench may inject network and gray faults: the capabilities (`CAP_NET_ADMIN`
//! for links and filters, `CAP_SYS_ADMIN` for namespaces and cgroups) and the tools (`ip`,
//! `nft`, `tc`, `iptables`) they take. Checked before anything starts, so a fault is refused, never
//! half-applied.

use std::path::PathBuf;

/// Capability bits, as `/proc/self/status` numbers them.
const CAP_NET_ADMIN: u32 = 12;
const CAP_SYS_ADMIN: u32 = 21;

/// Where system tools live even when the PATH of a non-root shell leaves them out.
const SBIN: [&str; 4] = ["/usr/sbin", "/sbin", "/usr/bin", "/bin"];

/// The full path of a system tool, from PATH or the sbin directories.
pub fn find_tool(name: &str) -> Option<PathBuf> {
    let path = std::env::var("PATH").unwrap_or_default();
    let found = path
        .split(':')
        .chain(SBIN)
        .map(|d| PathBuf::from(d).join(name))
        .find(|p| p.is_file());
    found
}

/// What this process has, for the check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Privileges {
    /// Effective capability set.
    pub caps: u64,
    /// Effective uid, for the message.
    pub uid: u32,
    /// Tools that are missing.
    pub missing_tools: Vec<&'static str>,
    /// A cgroup CPU controller is mounted.
    pub cpu_quota: bool,
}

impl Privileges {
    /// What this process has now.
    pub fn current() -> Privileges {
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        let caps = status
            .lines()
            .find_map(|l| l.strip_prefix("CapEff:"))
            .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
            .unwrap_or(0);
        Privileges {
            caps,
            // SAFETY: geteuid cannot fail.
            uid: unsafe { libc::geteuid() },
            missing_tools: ["ip", "nft", "tc", "iptables"]
                .into_iter()
                .filter(|t| find_tool(t).is_none())
                .collect(),
            cpu_quota: super::starve::available(),
        }
    }

    /// Why faults of these kinds cannot be injected here; `None` if they can.
    pub fn refusal(&self, needs_network: bool, needs_cpu: bool) -> Option<String> {
        let has = |bit: u32| self.caps & (1 << bit) != 0;
        let mut missing = Vec::new();
        if !has(CAP_NET_ADMIN) {
            missing.push("CAP_NET_ADMIN");
        }
        if !has(CAP_SYS_ADMIN) {
            missing.push("CAP_SYS_ADMIN");
        }
        if !missing.is_empty() {
            return Some(format!(
                "network and gray faults need root (this kbench runs as uid {} without {}): they \
                 create network namespaces, packet filters and cgroups. Run it with sudo, or remove \
                 the fault",
                self.uid,
                missing.join(" and ")
            ));
        }
        if needs_network && !self.missing_tools.is_empty() {
            return Some(format!(
                "network faults need {} (Debian: apt-get install iproute2 nftables iptables)",
                self.missing_tools.join(", ")
            ));
        }
        if needs_cpu && !self.cpu_quota {
            return Some(
                "starve needs the cgroup CPU controller, which this machine does not mount".into(),
            );
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_without_capabilities_and_names_them() {
        let p = Privileges {
            caps: 0,
            uid: 1000,
            missing_tools: vec![],
            cpu_quota: true,
        };
        let why = p.refusal(true, false).unwrap();
        assert!(why.contains("uid 1000"), "{why}");
        assert!(why.contains("CAP_NET_ADMIN and CAP_SYS_ADMIN"));
        let root = Privileges {
            caps: u64::MAX,
            uid: 0,
            missing_tools: vec!["nft"],
            cpu_quota: false,
        };
        assert!(root.refusal(true, false).unwrap().contains("nft"));
        assert!(root.refusal(false, true).unwrap().contains("cgroup"));
        assert_eq!(root.refusal(false, false), None);
    }
}
