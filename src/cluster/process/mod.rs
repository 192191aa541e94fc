//! The default backend: three Kafka 4 nodes (broker + controller, KRaft) and Apicurio Registry
//! as local JVM processes on loopback, each in its own directory under the cluster's work
//! directory, tracked by a state file so another kbench process can stop them. How it is seen
//! starting is in `starting`; stopping every process of a state in `stop`.

mod network;
mod registry;
mod starting;
mod stop;

pub use stop::stop_all;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use super::dist::{self, Dist};
use super::proc_ctl::{self, ProcRef, ProcState};
use super::ready;
use super::secure::{self, LocalSecurity};
use super::state::{ClusterState, NodeRecord, RegistryRecord};
use super::status::{ClusterStatus, NodeStatus, ProcessState};
use super::topology::{Topology, HOST};
use super::watch::{LogTail, Member};
use super::{
    jvm_cmd, probe, ClusterBackend, Endpoints, RegistryFault, StartOptions, StopMode, Versions,
};
use crate::names::BackendKind;
use crate::names::BrokerId;
use crate::security::{ClientSecurity, Secret};

/// How long a node gets for a controlled shutdown before it is reported as hung.
const GRACEFUL_TIMEOUT: Duration = Duration::from_secs(120);
/// Grace period at teardown; the data is thrown away, so waiting longer buys nothing.
const TEARDOWN_GRACE: Duration = Duration::from_secs(5);
/// How long teardown waits for node 1 to write its class-data archive at exit. About 3 s on an
/// unloaded 2-core machine and 20 s on one 3-4x slower; the bound only stops a hung JVM.
const ARCHIVE_GRACE: Duration = Duration::from_secs(120);

/// The default backend: three Kafka nodes and Apicurio Registry as local JVMs, tracked
/// by a state file in the cluster's work directory.
pub struct ProcessBackend {
    topo: Topology,
    state: ClusterState,
    dist: Option<Dist>,
    torn_down: bool,
    /// Secure the client listeners this way at start.
    secure_as: Option<LocalSecurity>,
    /// How kbench's own clients connect (plaintext unless secured).
    client: ClientSecurity,
    /// The SASL password while starting (written into the nodes' and registry's settings).
    password: Option<Secret>,
    /// Delay threads of the network faults in force.
    delays: crate::netfault::inject::Delays,
}

/// Fail with the port's name when something already listens on one of the cluster's ports.
pub fn check_ports_free(topo: &Topology) -> Result<()> {
    for p in topo.ports() {
        if let Err(e) = TcpListener::bind((HOST, p.port)) {
            bail!(
                "port {p} is already in use on {HOST} ({e}). Another Kafka, registry or kbench \
                 cluster is running: `kbench cluster status` shows kbench's own, `kbench cluster down` stops it"
            );
        }
    }
    Ok(())
}

impl ProcessBackend {
    /// A new, not yet started cluster whose files go under `workdir`.
    pub fn create(workdir: PathBuf, topo: Topology) -> Result<Self> {
        std::fs::create_dir_all(workdir.join("registry"))
            .with_context(|| format!("cannot create work directory {}", workdir.display()))?;
        let workdir = workdir.canonicalize()?;
        let nodes = topo
            .nodes
            .iter()
            .map(|n| {
                let dir = workdir.join(format!("node-{}", n.id));
                NodeRecord {
                    id: n.id,
                    host: n.host,
                    client_port: n.client_port,
                    internal_port: n.internal_port,
                    controller_port: n.controller_port,
                    data_dir: dir.join("data"),
                    config: dir.join("server.properties"),
                    log: dir.join("node.log"),
                    process: None,
                    archive_at_exit: None,
                }
            })
            .collect();
        let state = ClusterState {
            backend: BackendKind::Process,
            workdir: workdir.clone(),
            created_at: crate::timefmt::now_rfc3339(),
            owner_pid: std::process::id() as i32,
            detached: false,
            cluster_id: jvm_cmd::new_cluster_id(),
            kafka_version: dist::kafka_version(),
            registry_version: dist::registry_version(),
            bootstrap_servers: topo.bootstrap_servers(),
            registry_url: topo.registry_url(),
            nodes,
            registry: RegistryRecord {
                port: topo.registry_port,
                management_port: topo.registry_management_port,
                log: workdir.join("registry").join("registry.log"),
                process: None,
                front: None,
            },
            security: None,
            lab: None,
        };
        Ok(Self::of(topo, state))
    }

    /// A backend for `state`, its clients connecting as the state's security says. A missing
    /// password file leaves them plaintext rather than failing: it must not keep `cluster
    /// down` from stopping the processes.
    fn of(topo: Topology, state: ClusterState) -> Self {
        let sec = state.security.as_ref();
        let client = sec.and_then(|rec| rec.client_security().ok());
        let password = sec.and_then(|rec| rec.password().ok().flatten());
        ProcessBackend {
            topo,
            state,
            dist: None,
            torn_down: false,
            secure_as: None,
            client: client.unwrap_or_default(),
            password,
            delays: Default::default(),
        }
    }

    /// Take over the cluster a state file describes (for `status`, `down`, faults from tests).
    pub fn attach(state_path: &Path) -> Result<Self> {
        let state = ClusterState::load(state_path)?;
        let mut topo = Topology::default();
        for (spec, rec) in topo.nodes.iter_mut().zip(&state.nodes) {
            spec.id = rec.id;
            spec.host = rec.host;
            spec.client_port = rec.client_port;
            spec.internal_port = rec.internal_port;
            spec.controller_port = rec.controller_port;
        }
        topo.registry_port = state.registry.port;
        topo.registry_management_port = state.registry.management_port;
        Ok(Self::of(topo, state))
    }

    /// Start with the client listeners secured (`None`: plaintext, the default).
    pub fn secured(mut self, mode: Option<LocalSecurity>) -> Self {
        self.secure_as = mode;
        self
    }

    /// Generate the secured cluster's certificates and password, before the nodes' settings.
    fn secure(&mut self) -> Result<()> {
        let Some(mode) = self.secure_as else {
            return Ok(());
        };
        let (rec, password) = secure::generate(&self.state.workdir.join("security"), mode)?;
        self.client = rec.client_security()?;
        self.password = Some(password);
        self.state.security = Some(rec);
        self.state.registry_url = super::registry_proxy::url();
        self.state.save()
    }

    /// The cluster's state, as its state file records it.
    pub fn state(&self) -> &ClusterState {
        &self.state
    }

    fn dist(&mut self) -> Result<Dist> {
        if self.dist.is_none() {
            self.dist = Some(dist::ensure(&|m| eprintln!("kbench: {m}"))?);
        }
        Ok(self.dist.clone().expect("set above"))
    }

    fn record(&self, id: BrokerId) -> Result<&NodeRecord> {
        self.state.node(id).with_context(|| {
            format!(
                "there is no node {id}; the cluster's nodes are {:?}",
                self.topo.node_ids()
            )
        })
    }

    fn node_proc(&self, id: BrokerId) -> Result<ProcRef> {
        let rec = self.record(id)?;
        rec.process
            .filter(ProcRef::alive)
            .with_context(|| format!("node {id} is not running"))
    }

    fn spawn_node(&mut self, id: BrokerId) -> Result<()> {
        let dist = self.dist()?;
        let rec = self.record(id)?.clone();
        let mut cmd = jvm_cmd::kafka_node(&dist, &self.state.workdir, id, &rec.config);
        if let Some(n) = self.state.lab.as_ref().and_then(|l| l.node(id)) {
            crate::netfault::lab::spawn_inside(&mut cmd, &n.netns)?;
        }
        let p = proc_ctl::spawn_logged(cmd, &rec.log)?;
        let node = self.state.node_mut(id).expect("checked");
        node.process = Some(p);
        node.archive_at_exit = dist.archives.written_at_exit_by(id);
        self.state.save()
    }

    fn prepare_nodes(&mut self) -> Result<()> {
        let dist = self.dist()?;
        let workdir = self.state.workdir.clone();
        jvm_cmd::write_log_config(&workdir)?;
        let mut formats = Vec::new();
        let pw = self.password.as_ref();
        let sec = self.state.security.as_ref();
        let extra = sec.map_or_else(Vec::new, |s| s.broker_properties(pw));
        let scram = sec.map_or_else(Vec::new, |s| s.format_args(pw));
        for rec in &self.state.nodes {
            std::fs::create_dir_all(&rec.data_dir)?;
            jvm_cmd::write_server_properties(
                &self.topo,
                rec.id,
                &rec.data_dir,
                &rec.config,
                &extra,
            )?;
            let cmd = jvm_cmd::format_storage(
                &dist,
                &workdir,
                &self.state.cluster_id,
                &rec.config,
                &scram,
            );
            formats.push((cmd, rec.log.with_file_name("format.log")));
        }
        jvm_cmd::run_formats(formats)
    }

    /// Fail with the node's log when one of the processes died.
    fn check_alive(&self) -> Result<()> {
        for rec in &self.state.nodes {
            if let Some(p) = rec.process {
                if !p.alive() {
                    bail!(
                        "node {} exited during start-up; last lines of {}:\n{}",
                        rec.id,
                        rec.log.display(),
                        proc_ctl::tail(&rec.log, 30)
                    );
                }
            }
        }
        if let Some(p) = self.state.registry.process {
            if !p.alive() {
                let log = &self.state.registry.log;
                bail!(
                    "the schema registry exited during start-up; last lines of {}:\n{}",
                    log.display(),
                    proc_ctl::tail(log, 30)
                );
            }
        }
        Ok(())
    }

    fn quorum_leader(&self) -> Option<BrokerId> {
        probe::quorum_leader(self.state.nodes.iter().map(|n| n.data_dir.as_path()))
    }
}

impl ClusterBackend for ProcessBackend {
    fn kind(&self) -> BackendKind {
        BackendKind::Process
    }

    fn start(&mut self, opts: &StartOptions, progress: &dyn Fn(&str)) -> Result<()> {
        check_ports_free(&self.topo)?;
        let t0 = Instant::now();
        let dist = self.dist()?;
        self.state.detached = opts.detached;
        self.state.save()?;
        self.make_lab()?;
        self.secure()?;
        progress(&format!(
            "starting Kafka {} (3 KRaft nodes) with {} and Apicurio Registry {} with {} in {}",
            dist.kafka_version,
            dist.kafka_java.path.display(),
            dist.registry_version,
            dist.registry_java.path.display(),
            self.state.workdir.display()
        ));
        self.prepare_nodes()?;
        for id in self.topo.node_ids() {
            self.spawn_node(id)?;
        }
        let deadline = t0 + opts.ready_timeout;
        ready::wait_brokers(self, &self.topo.node_ids(), deadline)?;
        progress(&super::brokers_ready_note(
            &self.topo.node_ids(),
            self.quorum_leader(),
            t0,
        ));
        self.spawn_registry()?;
        ready::wait_registry(self, &self.state.registry_url, deadline)?;
        progress(&super::registry_ready_note(&self.state.registry_url, t0));
        Ok(())
    }

    fn status(&self) -> Result<ClusterStatus> {
        let (registered, metadata_error) =
            probe::registration(&self.endpoints().brokers, Duration::from_millis(1500));
        let leader = self.quorum_leader();
        let nodes = self
            .state
            .nodes
            .iter()
            .map(|n| NodeStatus {
                id: n.id,
                address: format!("{}:{}", n.host, n.client_port),
                process: Some(n.process.map_or(ProcState::Gone, |p| p.state()).into()),
                registered: registered.contains(&n.id),
                quorum_leader: leader == Some(n.id),
            })
            .collect();
        Ok(ClusterStatus {
            backend: BackendKind::Process,
            bootstrap_servers: self.state.bootstrap_servers.clone(),
            nodes,
            quorum_leader: leader,
            registry_url: self.state.registry_url.clone(),
            registry_up: self.endpoints().registry.answers(Duration::from_secs(2)),
            registry_process: Some(
                self.state
                    .registry
                    .process
                    .map_or(ProcState::Gone, |p| p.state())
                    .into(),
            ),
            metadata_error,
            security: self
                .state
                .security
                .as_ref()
                .map(secure::SecureRecord::connection),
        })
    }

    fn stop(&mut self, node: BrokerId, mode: StopMode) -> Result<()> {
        stop::take_down(self.node_proc(node)?, &format!("node {node}"), mode)
    }

    fn resume(&mut self, node: BrokerId) -> Result<()> {
        stop::continue_paused(self.node_proc(node)?, &format!("node {node}"))
    }

    fn registry_fault(&mut self, fault: RegistryFault) -> Result<()> {
        self.fault_registry(fault)
    }

    fn restart(&mut self, node: BrokerId) -> Result<()> {
        if self.node_proc(node).is_ok() {
            self.stop(node, StopMode::Graceful)?;
        }
        self.spawn_node(node)
    }

    fn node_ids(&self) -> Vec<BrokerId> {
        self.topo.node_ids()
    }

    fn endpoints(&self) -> Endpoints {
        Endpoints::new(
            self.state.bootstrap_servers.clone(),
            self.state.registry_url.clone(),
            self.client.clone(),
        )
    }

    fn teardown(&mut self) -> Result<()> {
        if self.torn_down {
            return Ok(());
        }
        let survivors = stop_all(&self.state);
        let lab_left = self.remove_lab();
        for n in &self.state.nodes {
            std::fs::remove_dir_all(&n.data_dir).ok();
        }
        if let Some(rec) = &self.state.security {
            let configs = self.state.nodes.iter().map(|n| n.config.as_path());
            secure::remove(rec, &self.state.workdir, configs);
        }
        std::fs::remove_file(self.state.path()).ok();
        self.torn_down = true;
        if !survivors.is_empty() {
            bail!("processes survived teardown: {survivors:?}")
        }
        if !lab_left.is_empty() {
            bail!(
                "the lab network was not fully removed: {}",
                lab_left.join("; ")
            )
        }
        Ok(())
    }

    fn controller(&self) -> Option<BrokerId> {
        self.quorum_leader()
    }

    fn network_faults(&mut self) -> Option<&mut dyn crate::netfault::NetworkFaults> {
        if self.state.lab.is_some() {
            Some(self)
        } else {
            None
        }
    }

    fn jvm_tuning(&self) -> Vec<String> {
        self.dist
            .as_ref()
            .map_or_else(Vec::new, |d| d.archives.describe())
    }

    fn processes(&self) -> Option<Vec<(Member, ProcessState)>> {
        let state = |p: Option<ProcRef>| p.map_or(ProcState::Gone, |p| p.state()).into();
        let nodes = self.state.nodes.iter();
        let members = nodes.map(|n| (Member::Broker(n.id), state(n.process)));
        Some(
            members
                .chain([(Member::Registry, state(self.state.registry.process))])
                .collect(),
        )
    }

    fn member_log_tail(&self, member: Member, lines: usize) -> Option<LogTail> {
        let path = match member {
            Member::Registry => Some(&self.state.registry.log),
            Member::Broker(id) => (self.state.nodes.iter())
                .find(|n| n.id == id)
                .map(|n| &n.log),
        }?;
        Some(LogTail {
            source: path.display().to_string(),
            tail: proc_ctl::tail(path, lines),
        })
    }

    fn peak_rss_mib(&self) -> std::collections::BTreeMap<String, f64> {
        let named = self
            .state
            .nodes
            .iter()
            .map(|n| (format!("node-{}", n.id), n.process))
            .chain([("registry".to_string(), self.state.registry.process)]);
        named
            .filter_map(|(name, p)| {
                let p = p.filter(ProcRef::alive)?;
                Some((name, proc_ctl::peak_rss_kib(p.pid)? as f64 / 1024.0))
            })
            .collect()
    }

    fn versions(&self) -> Versions {
        Versions {
            kafka: self.state.kafka_version.clone(),
            registry: self.state.registry_version.clone(),
            images: Vec::new(),
        }
    }
}
