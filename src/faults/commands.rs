//! Node faults on a cluster kbench does not own, through the operator's own commands: one shell
//! template per action (`ssh {host} sudo systemctl stop kafka`, `kubectl delete pod kafka-{node}`),
//! filled with the node id, kbench's own path and per-node values, run under a timeout. Each run
//! leaves its command line, exit code, time and output tail as evidence; a failing command fails
//! the fault with its stderr.

use std::collections::BTreeMap;
use std::fmt;
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::cluster::Member;
pub use crate::cluster::NodeAction;
use crate::names::BrokerId;

/// Placeholders every template may use besides the per-node keys; `{node}` is the broker id,
/// or `registry` for the registry.
pub const BUILTIN_PLACEHOLDERS: [&str; 2] = ["node", "kbench"];

/// The `{name}` placeholders of a template, in order.
pub fn placeholders(template: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close) => {
                out.push(after[..close].to_string());
                rest = &after[close + 1..];
            }
            None => break,
        }
    }
    out
}

/// The operator's commands, validated: templates by action, per-node values, timeout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeCommands {
    /// Template per action; actions without one are refused at validation.
    pub templates: BTreeMap<NodeAction, String>,
    /// Values per node for the templates' other placeholders (`host`, `pod`, `unit`).
    pub nodes: BTreeMap<BrokerId, BTreeMap<String, String>>,
    /// The registry's values for them (`[cluster.nodes.registry]`), for registry faults.
    pub registry: Option<BTreeMap<String, String>>,
    /// How long one command may run before it is killed and the fault fails.
    pub timeout: Duration,
}

/// What one command did.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The command line as run.
    pub command: String,
    /// Exit code (`None` when killed by a signal or the timeout).
    pub code: Option<i32>,
    /// How long it ran.
    pub elapsed: Duration,
    /// Last lines of its stdout and stderr.
    pub output: String,
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let code = self
            .code
            .map_or("no exit code".into(), |c| format!("exit {c}"));
        write!(
            f,
            "`{}`: {code} after {:.2}s",
            self.command,
            self.elapsed.as_secs_f64()
        )?;
        if !self.output.is_empty() {
            write!(f, "; output: {}", self.output)?;
        }
        Ok(())
    }
}

/// Quote `s` for `sh` so a path with spaces stays one word.
fn shell_quote(s: &str) -> String {
    if s.chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-+:=@,".contains(c))
    {
        return s.to_string();
    }
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// Up to the last 800 bytes of `bytes`, as one line of text.
fn tail_text(bytes: &[u8]) -> String {
    let start = bytes.len().saturating_sub(800);
    let s = String::from_utf8_lossy(&bytes[start..]);
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

impl NodeCommands {
    /// The values `member`'s table gives the templates' placeholders.
    fn values(&self, member: Member) -> Option<&BTreeMap<String, String>> {
        match member {
            Member::Broker(node) => self.nodes.get(&node),
            Member::Registry => self.registry.as_ref(),
        }
    }

    /// The command line for `action` on `member`, placeholders filled.
    pub fn render(&self, action: NodeAction, member: Member, kbench: &str) -> Result<String> {
        let node = match member {
            Member::Broker(id) => id.to_string(),
            Member::Registry => "registry".to_string(),
        };
        let template = self
            .templates
            .get(&action)
            .with_context(|| format!("no command for `{}` in [cluster.commands]", action.key()))?;
        let mut out = template.clone();
        for name in placeholders(template) {
            let value = match name.as_str() {
                "node" => node.clone(),
                "kbench" => shell_quote(kbench),
                key => self
                    .values(member)
                    .and_then(|v| v.get(key))
                    .cloned()
                    .with_context(|| {
                        format!("the `{}` command uses {{{key}}}, but [cluster.nodes.{node}] has no {key}", action.key())
                    })?,
            };
            out = out.replace(&format!("{{{name}}}"), &value);
        }
        Ok(out)
    }

    /// Run `action` on `member` through `sh -c`, under the timeout. Fails, with the command's
    /// output, when it exits non-zero or runs too long.
    pub fn run(&self, action: NodeAction, member: Member) -> Result<Outcome> {
        let kbench = std::env::current_exe()
            .map(|p: PathBuf| p.display().to_string())
            .unwrap_or_else(|_| "kbench".into());
        let command = self.render(action, member, &kbench)?;
        let outcome = run_shell(&command, self.timeout)?;
        match outcome.code {
            Some(0) => Ok(outcome),
            Some(_) => bail!(
                "the {} command for {member} failed: {outcome}",
                action.key()
            ),
            None => bail!(
                "the {} command for {member} did not finish within {}s and was killed: {outcome}",
                action.key(),
                self.timeout.as_secs()
            ),
        }
    }
}

/// Run `command` with `sh -c` in a process group of its own, killing the group at `timeout`.
fn run_shell(command: &str, timeout: Duration) -> Result<Outcome> {
    let t0 = Instant::now();
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(command)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .context("cannot run sh")?;
    let readers: Vec<_> = [
        child
            .stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
        child
            .stderr
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
    ]
    .into_iter()
    .flatten()
    .map(|mut r| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = r.read_to_end(&mut buf);
            buf
        })
    })
    .collect();
    let code = loop {
        if let Some(status) = child.try_wait()? {
            break status.code();
        }
        if t0.elapsed() >= timeout {
            // SAFETY: signalling our own child's process group.
            unsafe { libc::kill(-(child.id() as i32), libc::SIGKILL) };
            child.wait()?;
            break None;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let elapsed = t0.elapsed();
    let output: Vec<String> = readers
        .into_iter()
        .map(|h| tail_text(&h.join().unwrap_or_default()))
        .filter(|s| !s.is_empty())
        .collect();
    Ok(Outcome {
        command: command.to_string(),
        code,
        elapsed,
        output: output.join(" | "),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmds(stop: &str) -> NodeCommands {
        NodeCommands {
            templates: [(NodeAction::Stop, stop.to_string())].into(),
            nodes: [(2, [("host".to_string(), "kafka-2.lan".to_string())].into())].into(),
            registry: Some([("host".to_string(), "sr.lan".to_string())].into()),
            timeout: Duration::from_secs(2),
        }
    }

    #[test]
    fn templates_fill_node_values_and_quote_kbench() {
        let c = cmds("ssh {host} sudo systemctl stop kafka # {node} {kbench}");
        let line = c
            .render(NodeAction::Stop, Member::Broker(2), "/opt/my tools/kbench")
            .unwrap();
        assert_eq!(
            line,
            "ssh kafka-2.lan sudo systemctl stop kafka # 2 '/opt/my tools/kbench'"
        );
        let line = c.render(NodeAction::Stop, Member::Registry, "k").unwrap();
        assert_eq!(line, "ssh sr.lan sudo systemctl stop kafka # registry k");
        let e = c
            .render(NodeAction::Stop, Member::Broker(3), "k")
            .unwrap_err()
            .to_string();
        assert!(e.contains("[cluster.nodes.3] has no host"), "{e}");
        assert!(c.render(NodeAction::Kill, Member::Broker(2), "k").is_err());
        assert_eq!(placeholders("a {x} b {node}"), vec!["x", "node"]);
    }

    #[test]
    fn commands_report_exit_codes_output_and_timeouts() {
        let ok = cmds("echo stopped {node}")
            .run(NodeAction::Stop, Member::Broker(2))
            .unwrap();
        assert_eq!((ok.code, ok.output.as_str()), (Some(0), "stopped 2"));
        let e = cmds("echo no such unit >&2; exit 5")
            .run(NodeAction::Stop, Member::Broker(2))
            .unwrap_err();
        let e = format!("{e:#}");
        assert!(e.contains("exit 5") && e.contains("no such unit"), "{e}");
        let t0 = Instant::now();
        let e = cmds("sleep 30")
            .run(NodeAction::Stop, Member::Broker(2))
            .unwrap_err()
            .to_string();
        assert!(e.contains("did not finish within 2s"), "{e}");
        assert!(t0.elapsed() < Duration::from_secs(10));
    }
}
