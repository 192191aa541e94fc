//! Docker Swarm one-shot jobs through the Engine API (a service in `replicated-job` mode with
//! one completion, restart policy none): created, watched through their one task, stopped with
//! a grace period, removed, and found again by label after a crash. Used by `kbench
//! distribute --engine swarm`, one job per shard, so each shard's index is in its own command
//! (a replicated job's `{{.Task.Slot}}` does not expand in the command, only in env/mounts).

use std::collections::HashMap;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use bollard::models::{
    Mount, MountType, NetworkAttachmentConfig, ServiceSpec, ServiceSpecMode,
    ServiceSpecModeReplicatedJob, TaskSpec, TaskSpecContainerSpec, TaskSpecRestartPolicy,
    TaskSpecRestartPolicyConditionEnum, TaskState,
};
use bollard::query_parameters::{ListServicesOptions, ListTasksOptions};

use super::engine::{status_is, Engine};

/// One job: a container run once to its end.
#[derive(Debug, Clone)]
pub struct JobSpec {
    /// The service's name.
    pub name: String,
    /// Its image.
    pub image: String,
    /// The arguments to the image's entry point.
    pub args: Vec<String>,
    /// Working directory inside the container.
    pub workdir: String,
    /// `uid:gid` the container runs as (files it writes belong to them).
    pub user: String,
    /// Host directories bound at the same path: (path, read-only).
    pub binds: Vec<(String, bool)>,
    /// Labels of the service, to find it again.
    pub labels: HashMap<String, String>,
    /// SIGTERM to SIGKILL when it is stopped.
    pub stop_grace: Duration,
}

/// Where a job is.
#[derive(Debug, Clone, PartialEq)]
pub enum JobState {
    /// Not yet running (no task yet, or being scheduled, pulled, started).
    Pending,
    /// Its container runs.
    Running,
    /// It ended: exit code when the container ran, and the engine's word on it.
    Ended {
        /// The container's exit code.
        exit: Option<i64>,
        /// The task's state and message, e.g. `failed: task: non-zero exit (1)`.
        how: String,
    },
}

/// The engine, checked to be a swarm manager.
pub struct Swarm {
    engine: Engine,
}

impl Swarm {
    /// Connect to the engine and make sure it can run services.
    pub fn connect() -> Result<Swarm> {
        let engine = Engine::connect()?;
        let info = engine
            .run(engine.docker.info())
            .context("asking the engine about its swarm")?;
        let manager = info
            .swarm
            .and_then(|s| s.control_available)
            .unwrap_or(false);
        if !manager {
            bail!(
                "the Docker engine at {} is not a swarm manager, so it cannot run the shards as \
                 jobs: make it one with `docker swarm init --advertise-addr 127.0.0.1` (or use \
                 --engine local)",
                engine.endpoint
            );
        }
        Ok(Swarm { engine })
    }

    /// kbench's own image, built by `kbench images build` (the error says so when missing).
    pub fn kbench_image(&self) -> Result<crate::images::Resolved> {
        use crate::images::{candidates, resolve, Choice, Role};
        let all = candidates(Role::Kbench, "", "");
        resolve(&self.engine, Role::Kbench, Choice::Local, &all, &|_| {})
    }

    /// Create the job's service; it starts at once.
    pub fn create(&self, job: &JobSpec) -> Result<()> {
        let spec = service_spec(job);
        let created = self
            .engine
            .run(self.engine.docker.create_service(spec, None));
        created.with_context(|| format!("cannot create the swarm job {}", job.name))?;
        Ok(())
    }

    /// The job's state, from its newest task.
    pub fn state(&self, name: &str) -> Result<JobState> {
        let filters = HashMap::from([("service".to_string(), vec![name.to_string()])]);
        let options = ListTasksOptions {
            filters: Some(filters),
        };
        let tasks = self
            .engine
            .run(self.engine.docker.list_tasks(Some(options)));
        let mut tasks = tasks.with_context(|| format!("cannot list the tasks of {name}"))?;
        tasks.sort_by_key(|t| t.created_at.clone().map(|d| d.to_string()));
        let Some(status) = tasks.pop().and_then(|t| t.status) else {
            return Ok(JobState::Pending);
        };
        let exit = status.container_status.as_ref().and_then(|c| c.exit_code);
        Ok(match status.state {
            Some(TaskState::RUNNING) => JobState::Running,
            Some(
                s @ (TaskState::COMPLETE
                | TaskState::FAILED
                | TaskState::REJECTED
                | TaskState::SHUTDOWN
                | TaskState::ORPHANED
                | TaskState::REMOVE),
            ) => JobState::Ended {
                exit,
                how: format!("{s}: {}", status.err.or(status.message).unwrap_or_default()),
            },
            _ => JobState::Pending,
        })
    }

    /// SIGTERM the job's running container and wait up to `grace` for it to end.
    pub fn stop(&self, name: &str, grace: Duration) -> Result<()> {
        let filters = HashMap::from([
            ("service".to_string(), vec![name.to_string()]),
            ("desired-state".to_string(), vec!["running".to_string()]),
        ]);
        let options = ListTasksOptions {
            filters: Some(filters),
        };
        let tasks = self
            .engine
            .run(self.engine.docker.list_tasks(Some(options)))?;
        for t in tasks {
            let id = t
                .status
                .and_then(|s| s.container_status)
                .and_then(|c| c.container_id);
            if let Some(id) = id {
                self.engine.stop(&id, grace)?;
            }
        }
        Ok(())
    }

    /// Remove the job's service (and so its containers); whether it was there.
    pub fn remove(&self, name: &str) -> Result<bool> {
        match self.engine.run(self.engine.docker.delete_service(name)) {
            Ok(()) => Ok(true),
            Err(e) if status_is(&e, 404) => Ok(false),
            Err(e) => Err(e).with_context(|| format!("cannot remove the swarm job {name}")),
        }
    }
}

/// The label every shard job carries (its value: the coordinator's output directory).
pub const SHARDS_LABEL: &str = "dev.kbench.shards";

/// Remove every shard job kbench left on `engine` (after a crash of its coordinator); an
/// engine that is no swarm manager has none.
pub(super) fn remove_shard_jobs(engine: &Engine) -> Result<Vec<String>> {
    let filters = HashMap::from([("label".to_string(), vec![SHARDS_LABEL.to_string()])]);
    let options = ListServicesOptions {
        filters: Some(filters),
        ..Default::default()
    };
    let Ok(services) = engine.run(engine.docker.list_services(Some(options))) else {
        return Ok(Vec::new());
    };
    let mut removed = Vec::new();
    for name in services
        .into_iter()
        .filter_map(|s| s.spec.and_then(|s| s.name))
    {
        match engine.run(engine.docker.delete_service(&name)) {
            Ok(()) => removed.push(format!("swarm job {name}")),
            Err(e) if status_is(&e, 404) => {}
            Err(e) => return Err(e).with_context(|| format!("cannot remove the swarm job {name}")),
        }
    }
    Ok(removed)
}

/// The service: one task to completion, never restarted, on the host's network (the shards
/// reach a cluster on 127.0.0.1), the binds at their host paths.
fn service_spec(job: &JobSpec) -> ServiceSpec {
    let mounts = (job.binds.iter())
        .map(|(path, read_only)| Mount {
            target: Some(path.clone()),
            source: Some(path.clone()),
            typ: Some(MountType::BIND),
            read_only: Some(*read_only),
            ..Default::default()
        })
        .collect();
    let container = TaskSpecContainerSpec {
        image: Some(job.image.clone()),
        args: Some(job.args.clone()),
        dir: Some(job.workdir.clone()),
        user: Some(job.user.clone()),
        mounts: Some(mounts),
        stop_grace_period: Some(job.stop_grace.as_nanos() as i64),
        ..Default::default()
    };
    ServiceSpec {
        name: Some(job.name.clone()),
        labels: Some(job.labels.clone()),
        task_template: Some(TaskSpec {
            container_spec: Some(container),
            restart_policy: Some(TaskSpecRestartPolicy {
                condition: Some(TaskSpecRestartPolicyConditionEnum::NONE),
                ..Default::default()
            }),
            networks: Some(vec![NetworkAttachmentConfig {
                target: Some("host".into()),
                ..Default::default()
            }]),
            ..Default::default()
        }),
        mode: Some(ServiceSpecMode {
            replicated_job: Some(ServiceSpecModeReplicatedJob {
                max_concurrent: Some(1),
                total_completions: Some(1),
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}
