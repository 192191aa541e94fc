//! The Docker Engine API as blocking calls: one bollard client on a private tokio runtime, so
//! the backend can keep `ClusterBackend`'s blocking contract. Owns connecting (with the "no
//! engine" error), images, the network, container lifecycle, logs, exec, and finding what
//! kbench labelled.

use std::collections::HashMap;
use std::future::Future;
use std::net::Ipv4Addr;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use bollard::errors::Error as DockerError;
use bollard::exec::{CreateExecOptions, StartExecResults};
use bollard::models::{
    ContainerCreateBody, ContainerStateStatusEnum, EndpointSettings, HostConfig,
    NetworkCreateRequest, NetworkingConfig, PortBinding,
};
use bollard::query_parameters::{
    CreateContainerOptions, KillContainerOptions, ListContainersOptions, ListNetworksOptions,
    LogsOptions, RemoveContainerOptions, StopContainerOptions,
};
use bollard::Docker;
use futures_util::StreamExt;

use super::spec::{label, ContainerSpec};
use crate::cluster::status::ProcessState;

/// Where bollard looks when `DOCKER_HOST` is unset.
const DEFAULT_ENDPOINT: &str = "unix:///var/run/docker.sock";
/// A ping is a few milliseconds on a live engine; waiting longer only delays the error.
const PING_TIMEOUT: Duration = Duration::from_secs(5);
/// Longer than the longest call we make: a graceful stop waits up to two minutes server-side.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(180);

/// Nothing answered at the engine's endpoint.
#[derive(Debug, thiserror::Error)]
#[error(
    "no Docker engine answers at {endpoint}: start Docker, or use backend = \"process\" \
     (the default, needs only Java and Maven); set DOCKER_HOST if your engine listens \
     elsewhere. Cause: {reason}"
)]
pub struct NoEngine {
    /// Endpoint that was tried, e.g. `unix:///var/run/docker.sock`.
    pub endpoint: String,
    /// Why it failed: the connection error with its sources, or the ping timeout.
    pub reason: String,
}

/// The oldest Engine API kbench's calls are checked against: Debian 12's docker.io (20.10).
pub const MIN_API_VERSION: (u32, u32) = (1, 41);

/// Refuse an engine older than [`MIN_API_VERSION`], naming both versions.
fn check_api_version(endpoint: &str, version: &str) -> Result<()> {
    let parsed = version
        .split_once('.')
        .and_then(|(a, b)| Some((a.parse::<u32>().ok()?, b.parse::<u32>().ok()?)));
    match parsed {
        Some(v) if v >= MIN_API_VERSION => Ok(()),
        _ => bail!(
            "the Docker engine at {endpoint} speaks Engine API {version:?}; kbench needs API \
             {}.{} or newer (Docker 20.10 or newer): upgrade the engine, or use backend = \
             \"process\"",
            MIN_API_VERSION.0,
            MIN_API_VERSION.1
        ),
    }
}

/// How a container is, as far as faults and status care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunState {
    /// Up and running.
    Running,
    /// Frozen by `docker pause`; its process still exists.
    Paused,
    /// Being restarted by the engine.
    Restarting,
    /// Created, exited or dead: it exists but runs nothing.
    Stopped,
    /// No container of that name exists.
    Missing,
}

impl RunState {
    /// The state in the process backend's vocabulary, as `kbench cluster status` shows it.
    pub fn process_state(self) -> ProcessState {
        match self {
            RunState::Running => ProcessState::Running,
            RunState::Paused => ProcessState::Paused,
            RunState::Restarting => ProcessState::Restarting,
            RunState::Stopped | RunState::Missing => ProcessState::Down,
        }
    }

    /// The word `kbench cluster status` shows.
    pub fn label(self) -> &'static str {
        self.process_state().label()
    }

    /// Running or frozen: its process still exists.
    pub fn alive(self) -> bool {
        matches!(self, RunState::Running | RunState::Paused)
    }
}

/// Where a running container is, for faults made inside its network namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placement {
    /// Its main process, as the host numbers it.
    pub pid: i32,
    /// Its address on the cluster's network.
    pub address: Ipv4Addr,
    /// The network's gateway: where the host's published ports reach it from.
    pub gateway: Ipv4Addr,
}

pub(crate) struct Engine {
    rt: tokio::runtime::Runtime,
    pub(super) docker: Docker,
    pub(crate) endpoint: String,
    /// The API version the engine speaks (e.g. `1.41`), as it says.
    pub(crate) api_version: String,
}

/// An error with its sources: hyper's top-level "client error (Connect)" alone hides whether
/// the socket refused or is missing.
fn causes(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut src = e.source();
    while let Some(s) = src {
        out.push_str(": ");
        out.push_str(&s.to_string());
        src = s.source();
    }
    out
}

pub(super) fn status_is(e: &DockerError, code: u16) -> bool {
    matches!(e, DockerError::DockerResponseServerError { status_code, .. } if *status_code == code)
}

fn label_filter(cluster: Option<&str>) -> HashMap<String, Vec<String>> {
    let mut labels = vec![format!("{}=true", label::MANAGED)];
    if let Some(c) = cluster {
        labels.push(format!("{}={c}", label::CLUSTER));
    }
    HashMap::from([("label".to_string(), labels)])
}

impl Engine {
    /// Connect to the engine `DOCKER_HOST` names (the local socket when unset) and ping it.
    pub fn connect() -> Result<Engine> {
        let endpoint = std::env::var("DOCKER_HOST")
            .ok()
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| DEFAULT_ENDPOINT.to_string());
        Engine::connect_at(&endpoint)
    }

    /// Connect to the engine at `endpoint` (`unix://...`, `tcp://...`) and ping it.
    pub fn connect_at(endpoint: &str) -> Result<Engine> {
        let no_engine = |reason: String| NoEngine {
            endpoint: endpoint.to_string(),
            reason,
        };
        // One worker keeps hyper's connection tasks alive between our blocking calls.
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("kbench-docker")
            .enable_all()
            .build()
            .context("cannot start the Docker client's runtime")?;
        let docker = {
            let _ctx = rt.enter();
            Docker::connect_with_host(endpoint)
                .map_err(|e| no_engine(causes(&e)))?
                .with_timeout(REQUEST_TIMEOUT)
        };
        // The timer must be created inside the runtime, hence the async block.
        match rt.block_on(async { tokio::time::timeout(PING_TIMEOUT, docker.ping()).await }) {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => return Err(no_engine(causes(&e)).into()),
            Err(_) => {
                let secs = PING_TIMEOUT.as_secs();
                return Err(no_engine(format!("no answer to a ping within {secs}s")).into());
            }
        }
        let api_version = rt
            .block_on(docker.version())
            .map_err(|e| no_engine(causes(&e)))?
            .api_version
            .unwrap_or_default();
        check_api_version(endpoint, &api_version)?;
        Ok(Engine {
            rt,
            docker,
            endpoint: endpoint.to_string(),
            api_version,
        })
    }

    pub(super) fn run<F: Future>(&self, f: F) -> F::Output {
        self.rt.block_on(f)
    }

    /// Run `f` in the background on the engine client's runtime, until it ends or is aborted.
    pub(super) fn spawn<F>(&self, f: F) -> tokio::task::JoinHandle<()>
    where
        F: Future<Output = ()> + Send + 'static,
    {
        self.rt.spawn(f)
    }

    /// Create the network unless kbench already made it for this cluster. Returns whether it
    /// was created now (and so is ours to remove).
    pub fn ensure_network(&self, name: &str, labels: &HashMap<String, String>) -> Result<bool> {
        let req = NetworkCreateRequest {
            name: name.to_string(),
            driver: Some("bridge".into()),
            labels: Some(labels.clone()),
            ..Default::default()
        };
        match self.run(self.docker.create_network(req)) {
            Ok(_) => Ok(true),
            Err(e) if status_is(&e, 409) => {
                let existing = self
                    .run(self.docker.inspect_network(name, None))
                    .with_context(|| format!("cannot inspect network {name}"))?;
                let theirs = existing.labels.unwrap_or_default();
                let same = |k: &str| theirs.get(k) == labels.get(k);
                if same(label::MANAGED) && same(label::CLUSTER) {
                    Ok(false)
                } else {
                    bail!(
                        "a Docker network named {name} exists and kbench did not create it; \
                         remove it or give the cluster another name"
                    )
                }
            }
            Err(e) => Err(e).with_context(|| format!("cannot create network {name}")),
        }
    }

    pub fn create(&self, spec: &ContainerSpec) -> Result<()> {
        let port_key = |p: u16| format!("{p}/tcp");
        let bindings = spec
            .ports
            .iter()
            .map(|p| {
                let b = PortBinding {
                    host_ip: Some(p.host_ip.clone()),
                    host_port: Some(p.host_port.to_string()),
                };
                (port_key(p.container_port), Some(vec![b]))
            })
            .collect();
        let endpoint = EndpointSettings {
            aliases: Some(vec![spec.hostname.clone()]),
            ..Default::default()
        };
        let body = ContainerCreateBody {
            image: Some(spec.image.clone()),
            hostname: Some(spec.hostname.clone()),
            env: Some(spec.env.iter().map(|(k, v)| format!("{k}={v}")).collect()),
            labels: Some(spec.labels.clone().into_iter().collect()),
            exposed_ports: Some(
                spec.ports
                    .iter()
                    .map(|p| port_key(p.container_port))
                    .collect(),
            ),
            host_config: Some(HostConfig {
                port_bindings: Some(bindings),
                network_mode: Some(spec.network.clone()),
                ..Default::default()
            }),
            networking_config: Some(NetworkingConfig {
                endpoints_config: Some(HashMap::from([(spec.network.clone(), endpoint)])),
            }),
            ..Default::default()
        };
        let opts = CreateContainerOptions {
            name: Some(spec.name.clone()),
            ..Default::default()
        };
        match self.run(self.docker.create_container(Some(opts), body)) {
            Ok(_) => Ok(()),
            Err(e) if status_is(&e, 409) => bail!(
                "a container named {} already exists, from an earlier cluster: \
                 `kbench cluster down --backend docker` removes kbench's leftovers",
                spec.name
            ),
            Err(e) => Err(e).with_context(|| format!("cannot create container {}", spec.name)),
        }
    }

    pub fn start(&self, name: &str) -> Result<()> {
        self.run(self.docker.start_container(name, None))
            .with_context(|| format!("cannot start container {name}"))
    }

    /// SIGTERM, then SIGKILL after `grace`.
    pub fn stop(&self, name: &str, grace: Duration) -> Result<()> {
        let opts = StopContainerOptions {
            t: Some(i32::try_from(grace.as_secs()).unwrap_or(i32::MAX)),
            ..Default::default()
        };
        self.run(self.docker.stop_container(name, Some(opts)))
            .with_context(|| format!("cannot stop container {name}"))
    }

    pub fn kill(&self, name: &str) -> Result<()> {
        let opts = KillContainerOptions {
            signal: "SIGKILL".into(),
        };
        self.run(self.docker.kill_container(name, Some(opts)))
            .with_context(|| format!("cannot kill container {name}"))
    }

    pub fn pause(&self, name: &str) -> Result<()> {
        self.run(self.docker.pause_container(name))
            .with_context(|| format!("cannot pause container {name}"))
    }

    pub fn unpause(&self, name: &str) -> Result<()> {
        self.run(self.docker.unpause_container(name))
            .with_context(|| format!("cannot unpause container {name}"))
    }

    /// State and last exit code.
    pub fn inspect(&self, name: &str) -> Result<(RunState, Option<i64>)> {
        let info = match self.run(self.docker.inspect_container(name, None)) {
            Ok(i) => i,
            Err(e) if status_is(&e, 404) => return Ok((RunState::Missing, None)),
            Err(e) => return Err(e).with_context(|| format!("cannot inspect container {name}")),
        };
        let st = info.state.unwrap_or_default();
        let run = match st.status {
            Some(ContainerStateStatusEnum::RUNNING) => RunState::Running,
            Some(ContainerStateStatusEnum::PAUSED) => RunState::Paused,
            Some(ContainerStateStatusEnum::RESTARTING) => RunState::Restarting,
            _ => RunState::Stopped,
        };
        Ok((run, st.exit_code))
    }

    /// Where running container `name` is on `network`: its main process as the host sees
    /// it, its address and the network's gateway.
    pub fn placement(&self, name: &str, network: &str) -> Result<Placement> {
        let info = self
            .run(self.docker.inspect_container(name, None))
            .with_context(|| format!("cannot inspect container {name}"))?;
        let pid = (info.state.and_then(|s| s.pid)).filter(|&p| p > 0);
        let pid = pid.with_context(|| format!("container {name} is not running"))?;
        let networks = info.network_settings.and_then(|n| n.networks);
        let on = networks.and_then(|mut n| n.remove(network));
        let on = on.with_context(|| format!("container {name} is not on network {network}"))?;
        let addr = |what: &str, v: Option<String>| -> Result<Ipv4Addr> {
            let v = v.unwrap_or_default();
            v.parse()
                .with_context(|| format!("container {name} has no IPv4 {what} ({v:?})"))
        };
        Ok(Placement {
            pid: pid as i32,
            address: addr("address", on.ip_address)?,
            gateway: addr("gateway", on.gateway)?,
        })
    }

    /// The image a container was created from, if the container exists.
    pub fn image_of(&self, name: &str) -> Option<String> {
        let info = self.run(self.docker.inspect_container(name, None)).ok()?;
        info.config?.image
    }

    pub fn state(&self, name: &str) -> Result<RunState> {
        self.inspect(name).map(|(s, _)| s)
    }

    /// The container's last `lines` lines of output, for error messages.
    pub fn logs_tail(&self, name: &str, lines: usize) -> String {
        let opts = LogsOptions {
            stdout: true,
            stderr: true,
            tail: lines.to_string(),
            ..Default::default()
        };
        let out = self.run(async {
            let mut text = String::new();
            let mut stream = self.docker.logs(name, Some(opts));
            while let Some(item) = stream.next().await {
                match item {
                    Ok(chunk) => text.push_str(&chunk.to_string()),
                    Err(e) => return format!("{text}(logs unavailable: {e})"),
                }
            }
            text
        });
        if out.trim().is_empty() {
            "(no output)".into()
        } else {
            out
        }
    }

    /// Run `cmd` in a running container and return its standard output.
    pub fn exec_stdout(&self, name: &str, cmd: &[&str], timeout: Duration) -> Result<String> {
        let opts = CreateExecOptions {
            attach_stdout: Some(true),
            attach_stderr: Some(false),
            cmd: Some(cmd.iter().map(|s| s.to_string()).collect()),
            ..Default::default()
        };
        let work = async {
            let exec = self.docker.create_exec(name, opts).await?;
            let mut text = String::new();
            if let StartExecResults::Attached { mut output, .. } =
                self.docker.start_exec(&exec.id, None).await?
            {
                while let Some(chunk) = output.next().await {
                    text.push_str(&chunk?.to_string());
                }
            }
            Ok::<_, DockerError>(text)
        };
        match self.run(async { tokio::time::timeout(timeout, work).await }) {
            Ok(r) => r.with_context(|| format!("cannot run {cmd:?} in container {name}")),
            Err(_) => bail!("{cmd:?} in container {name} did not finish in time"),
        }
    }

    /// Remove a container with its anonymous volumes (the Kafka data); `false` if it was gone.
    pub fn remove(&self, name: &str) -> Result<bool> {
        let opts = RemoveContainerOptions {
            force: true,
            v: true,
            ..Default::default()
        };
        match self.run(self.docker.remove_container(name, Some(opts))) {
            Ok(()) => Ok(true),
            Err(e) if status_is(&e, 404) => Ok(false),
            Err(e) => Err(e).with_context(|| format!("cannot remove container {name}")),
        }
    }

    pub fn remove_network(&self, name: &str) -> Result<bool> {
        match self.run(self.docker.remove_network(name)) {
            Ok(()) => Ok(true),
            Err(e) if status_is(&e, 404) => Ok(false),
            Err(e) => Err(e).with_context(|| format!("cannot remove network {name}")),
        }
    }

    /// Names of the containers (running or not) kbench labelled, for one cluster or all.
    pub fn labelled_containers(&self, cluster: Option<&str>) -> Result<Vec<String>> {
        let opts = ListContainersOptions {
            all: true,
            filters: Some(label_filter(cluster)),
            ..Default::default()
        };
        let list = self
            .run(self.docker.list_containers(Some(opts)))
            .context("cannot list containers")?;
        let mut names: Vec<String> = list
            .into_iter()
            .filter_map(|c| c.names?.into_iter().next())
            .map(|n| n.trim_start_matches('/').to_string())
            .collect();
        names.sort();
        Ok(names)
    }

    /// Names of the networks kbench labelled, for one cluster or all.
    pub fn labelled_networks(&self, cluster: Option<&str>) -> Result<Vec<String>> {
        let opts = ListNetworksOptions {
            filters: Some(label_filter(cluster)),
        };
        let list = self
            .run(self.docker.list_networks(Some(opts)))
            .context("cannot list networks")?;
        let mut names: Vec<String> = list.into_iter().filter_map(|n| n.name).collect();
        names.sort();
        Ok(names)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engines_older_than_api_1_41_are_refused_by_name() {
        for ok in ["1.41", "1.43", "1.53", "2.0"] {
            assert!(check_api_version("unix:///x", ok).is_ok(), "{ok}");
        }
        for old in ["1.40", "1.24", "", "junk"] {
            let e = check_api_version("unix:///x", old).unwrap_err().to_string();
            assert!(e.contains(&format!("{old:?}")) && e.contains("1.41"), "{e}");
        }
    }
}
