//! Shards as a Kubernetes Indexed Job: the manifests (a ConfigMap with the scenario and its
//! schema files, a PersistentVolumeClaim the shards write their run directories to, the Job
//! with one completion index per shard, and a collector pod that keeps the claim mounted so its
//! files can be copied out), applied and followed with `kubectl`. The shards reach the cluster
//! the scenario names, which must be one the pods can reach: an external [cluster].

use std::path::{Component, Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};

use crate::report::shard::Shard;
use crate::run::remote::{run_dir_in, ShardEnd, ShardEngine, ShardJob};

/// Where the scenario's files and the results are mounted in the pods.
const FILES: &str = "/kbench/scenario";
const RESULTS: &str = "/results";

/// What the manifests are made of.
#[derive(Debug, Clone)]
pub struct Manifest {
    /// Name of the Job; the other objects are named after it.
    pub name: String,
    /// The shard job every pod runs (its index comes from the completion index).
    pub job: ShardJob,
    /// kbench's image, as the cluster's nodes can pull it.
    pub image: String,
    /// The scenario file and every schema file it reads: (path relative to the scenario's
    /// directory, text).
    pub files: Vec<(PathBuf, String)>,
    /// Longest a shard may run.
    pub limit: Duration,
}

impl Manifest {
    /// The four objects, in the order they are applied.
    pub fn objects(&self) -> Result<Vec<Value>> {
        let layout = Layout::of(&self.files)?;
        Ok(vec![
            self.config_map(&layout),
            self.claim(),
            self.indexed_job(&layout),
            self.collector(),
        ])
    }

    /// The objects as one YAML stream.
    pub fn yaml(&self) -> Result<String> {
        let mut out = String::new();
        for o in self.objects()? {
            out.push_str("---\n");
            out.push_str(&serde_yaml_ng::to_string(&o)?);
        }
        Ok(out)
    }

    fn labels(&self) -> Value {
        json!({"app.kubernetes.io/name": "kbench", "dev.kbench.shards": self.name})
    }

    fn config_map(&self, layout: &Layout) -> Value {
        let data: serde_json::Map<String, Value> = (layout.items.iter())
            .map(|(key, _, text)| (key.clone(), Value::String(text.clone())))
            .collect();
        json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": format!("{}-scenario", self.name), "labels": self.labels()},
            "data": data
        })
    }

    fn claim(&self) -> Value {
        json!({
            "apiVersion": "v1", "kind": "PersistentVolumeClaim",
            "metadata": {"name": format!("{}-results", self.name), "labels": self.labels()},
            "spec": {
                "accessModes": ["ReadWriteMany"],
                "resources": {"requests": {"storage": "1Gi"}}
            }
        })
    }

    fn volumes(&self, layout: &Layout) -> Value {
        let items: Vec<Value> = (layout.items.iter())
            .map(|(key, path, _)| json!({"key": key, "path": path}))
            .collect();
        json!([
            {"name": "scenario", "configMap": {"name": format!("{}-scenario", self.name), "items": items}},
            {"name": "results", "persistentVolumeClaim": {"claimName": format!("{}-results", self.name)}}
        ])
    }

    fn indexed_job(&self, layout: &Layout) -> Value {
        let j = &self.job;
        let args = j.args_with(
            &format!("{FILES}/{}", layout.scenario),
            &format!("$(SHARD)/{}", j.shards),
            &format!("{RESULTS}/shard-$(SHARD)"),
        );
        let index = "metadata.annotations['batch.kubernetes.io/job-completion-index']";
        json!({
            "apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": self.name, "labels": self.labels()},
            "spec": {
                "completionMode": "Indexed",
                "completions": j.shards,
                "parallelism": j.shards,
                "backoffLimit": 0,
                "activeDeadlineSeconds": self.limit.as_secs(),
                "template": {
                    "metadata": {"labels": self.labels()},
                    "spec": {
                        "restartPolicy": "Never",
                        "securityContext": {"runAsUser": 1002, "runAsGroup": 1002, "fsGroup": 1002},
                        "containers": [{
                            "name": "shard",
                            "image": self.image,
                            "args": args,
                            "env": [{"name": "SHARD", "valueFrom": {"fieldRef": {"fieldPath": index}}}],
                            "volumeMounts": [
                                {"name": "scenario", "mountPath": FILES, "readOnly": true},
                                {"name": "results", "mountPath": RESULTS}
                            ]
                        }],
                        "volumes": self.volumes(layout)
                    }
                }
            }
        })
    }

    fn collector(&self) -> Value {
        json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": format!("{}-collector", self.name), "labels": self.labels()},
            "spec": {
                "restartPolicy": "Never",
                "securityContext": {"runAsUser": 1002, "runAsGroup": 1002, "fsGroup": 1002},
                "containers": [{
                    "name": "collector",
                    "image": self.image,
                    "command": ["/bin/sleep", "infinity"],
                    "volumeMounts": [{"name": "results", "mountPath": RESULTS}]
                }],
                "volumes": [{"name": "results", "persistentVolumeClaim": {"claimName": format!("{}-results", self.name)}}]
            }
        })
    }
}

/// The scenario's files laid out under one mount: ConfigMap keys, their paths below
/// [`FILES`] (which may not climb with `..`, so the scenario goes as deep as its schemas climb)
/// and their texts.
struct Layout {
    items: Vec<(String, String, String)>,
    scenario: String,
}

impl Layout {
    fn of(files: &[(PathBuf, String)]) -> Result<Layout> {
        let depth = files.iter().map(|(p, _)| climbs(p)).max().unwrap_or(0);
        let base: PathBuf = (0..depth).map(|i| format!("d{i}")).collect();
        let mut items = Vec::new();
        for (i, (rel, text)) in files.iter().enumerate() {
            let path = normal(&base.join(rel))
                .with_context(|| format!("{} climbs above the scenario's files", rel.display()))?;
            items.push((format!("file-{i}"), path, text.clone()));
        }
        let scenario = items.first().map(|i| i.1.clone()).unwrap_or_default();
        Ok(Layout { items, scenario })
    }
}

/// How many directories a relative path climbs before it descends.
fn climbs(p: &Path) -> usize {
    p.components()
        .take_while(|c| *c == Component::ParentDir)
        .count()
}

/// `p` with every `..` resolved, as a relative path without any; `None` if it climbs out.
fn normal(p: &Path) -> Option<String> {
    let mut parts: Vec<String> = Vec::new();
    for c in p.components() {
        match c {
            Component::ParentDir => {
                parts.pop()?;
            }
            Component::Normal(s) => parts.push(s.to_string_lossy().into_owned()),
            Component::CurDir => {}
            _ => return None,
        }
    }
    Some(parts.join("/"))
}

/// The scenario file and the schema files it reads, relative to its directory, with their
/// texts; a schema outside that tree (an absolute path elsewhere) cannot go into the pods.
pub fn scenario_files(sc: &crate::scenario::Scenario) -> Result<Vec<(PathBuf, String)>> {
    let dir = sc.file.parent().unwrap_or(Path::new("."));
    let name = sc.file.file_name().map(PathBuf::from).unwrap_or_default();
    let mut files = vec![(name, sc.text.clone())];
    let schemas = std::iter::once((&sc.schema.file, &sc.schema.avsc))
        .chain(sc.schema.evolve.iter().map(|e| (&e.file, &e.avsc)));
    for (file, text) in schemas {
        let rel = file.strip_prefix(dir).map_err(|_| {
            anyhow::anyhow!(
                "{}: a schema file the pods get must be written relative to the scenario's \
                 directory ({})",
                file.display(),
                dir.display()
            )
        })?;
        files.push((rel.to_path_buf(), text.clone()));
    }
    Ok(files)
}

/// Shards as an Indexed Job, through `kubectl` (its current context and namespace).
pub struct K8s {
    manifest: Option<Manifest>,
    image: String,
    files: Vec<(PathBuf, String)>,
    limit: Duration,
    deadline: Option<Instant>,
}

impl K8s {
    /// The engine, once `kubectl` is found; pods run `image`.
    pub fn new(image: String, files: Vec<(PathBuf, String)>, limit: Duration) -> Result<K8s> {
        let found = Command::new("kubectl")
            .args(["version", "--client"])
            .output();
        if !found.is_ok_and(|o| o.status.success()) {
            bail!(
                "kubectl is not on PATH: --engine k8s applies its manifests with kubectl. \
                 `kbench distribute --engine k8s --dry-run SCENARIO` prints them instead"
            );
        }
        Ok(K8s {
            manifest: None,
            image,
            files,
            limit,
            deadline: None,
        })
    }

    /// The manifests for `job`, without any engine (`--dry-run`).
    pub fn manifest(
        image: String,
        files: Vec<(PathBuf, String)>,
        limit: Duration,
        job: ShardJob,
    ) -> Manifest {
        let name = format!("kbench-shards-{}", job.barrier_wall_ms);
        Manifest {
            name,
            job,
            image,
            files,
            limit,
        }
    }
}

/// `kubectl ARGS`, its standard output on success.
fn kubectl(args: &[&str]) -> Result<String> {
    let out = Command::new("kubectl")
        .args(args)
        .output()
        .context("cannot run kubectl")?;
    if !out.status.success() {
        bail!(
            "kubectl {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

impl ShardEngine for K8s {
    fn name(&self) -> String {
        format!("Kubernetes ({})", self.image)
    }

    fn lead(&self) -> Duration {
        // Pods are scheduled and their image pulled before they start.
        Duration::from_secs(60)
    }

    fn launch(&mut self, job: &ShardJob) -> Result<()> {
        let m = K8s::manifest(
            self.image.clone(),
            self.files.clone(),
            self.limit,
            job.clone(),
        );
        let path = job.out.join("k8s.yaml");
        std::fs::write(&path, m.yaml()?)
            .with_context(|| format!("cannot write {}", path.display()))?;
        self.manifest = Some(m);
        kubectl(&["apply", "-f", &path.display().to_string()])?;
        self.deadline = Some(Instant::now() + self.limit);
        Ok(())
    }

    fn poll(&mut self) -> Result<Option<Vec<ShardEnd>>> {
        let Some(m) = &self.manifest else {
            return Ok(Some(Vec::new()));
        };
        let status: Value =
            serde_json::from_str(&kubectl(&["get", "job", &m.name, "-o", "json"])?)?;
        let count = |k: &str| status["status"][k].as_u64().unwrap_or(0);
        let timed_out = self.deadline.is_some_and(|d| Instant::now() > d);
        if count("succeeded") + count("failed") < u64::from(m.job.shards) && !timed_out {
            return Ok(None);
        }
        let completed = status["status"]["completedIndexes"]
            .as_str()
            .unwrap_or("")
            .to_string();
        Ok(Some(collect(m, &completed)))
    }

    fn stop(&mut self) {
        if let Some(m) = &self.manifest {
            let _ = kubectl(&["delete", "job", &m.name, "--wait=false"]);
        }
    }

    fn remove(&mut self) {
        if let Some(m) = &self.manifest {
            let file = m.job.out.join("k8s.yaml");
            let _ = kubectl(&[
                "delete",
                "--ignore-not-found",
                "--wait=false",
                "-f",
                &file.display().to_string(),
            ]);
        }
    }
}

/// Every shard's run directory copied out of the collector pod; an index the Job did not
/// complete is a problem.
fn collect(m: &Manifest, completed: &str) -> Vec<ShardEnd> {
    let collector = format!("{}-collector", m.name);
    (0..m.job.shards)
        .map(|index| {
            let local = m.job.reports_of(index);
            let from = format!("{collector}:{RESULTS}/shard-{index}");
            let copied = kubectl(&["cp", &from, &local.display().to_string()]);
            let problem = match (in_indexes(completed, index), copied) {
                (true, Ok(_)) => None,
                (false, _) => Some("its pod did not complete (kubectl describe job)".into()),
                (true, Err(e)) => Some(format!("its files could not be copied: {e:#}")),
            };
            ShardEnd {
                shard: Shard {
                    index,
                    of: m.job.shards,
                },
                dir: run_dir_in(&local),
                problem,
            }
        })
        .collect()
}

/// Whether `index` is in a Job's `completedIndexes` ("0-2,4").
fn in_indexes(list: &str, index: u32) -> bool {
    list.split(',').any(|part| match part.split_once('-') {
        Some((a, b)) => {
            a.parse().is_ok_and(|a: u32| a <= index) && b.parse().is_ok_and(|b: u32| index <= b)
        }
        None => part.parse() == Ok(index),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn completed_indexes_read_as_kubernetes_writes_them() {
        assert!(in_indexes("0-2,4", 1) && in_indexes("0-2,4", 4));
        assert!(!in_indexes("0-2,4", 3) && !in_indexes("", 0));
    }

    #[test]
    fn schema_paths_that_climb_put_the_scenario_deeper_never_outside() {
        let files = vec![
            (PathBuf::from("short.toml"), "s".to_string()),
            (
                PathBuf::from("../../scenarios/schemas/reading.avsc"),
                "a".to_string(),
            ),
        ];
        let layout = Layout::of(&files).expect("a layout");
        assert_eq!(layout.scenario, "d0/d1/short.toml");
        assert_eq!(layout.items[1].1, "scenarios/schemas/reading.avsc");
        assert!(layout.items.iter().all(|(_, p, _)| !p.contains("..")));
    }
}
