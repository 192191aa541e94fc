//! The engine's container events for one cluster, kept as each container's last known state,
//! so a run notices a container that dies outside the fault plan as it notices a process of
//! the process backend (`cluster::watch`). Following the events costs nothing while all is
//! well, where inspecting every container twice a second would not.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bollard::query_parameters::EventsOptions;
use bollard::Docker;
use futures_util::StreamExt;

use super::engine::{Engine, RunState};

/// The container events that change what a container is doing.
const ACTIONS: [&str; 5] = ["start", "die", "pause", "unpause", "destroy"];

/// The state an event leaves its container in; `None` for events that change nothing.
fn state_after(action: &str) -> Option<RunState> {
    match action {
        "start" | "unpause" => Some(RunState::Running),
        "pause" => Some(RunState::Paused),
        "die" => Some(RunState::Stopped),
        "destroy" => Some(RunState::Missing),
        _ => None,
    }
}

/// Follows the events of a set of containers for as long as it lives.
pub(super) struct ContainerEvents {
    last: Arc<Mutex<HashMap<String, RunState>>>,
    task: tokio::task::JoinHandle<()>,
}

impl ContainerEvents {
    /// Follow the events of the containers `names` from now on.
    pub fn follow(engine: &Engine, names: Vec<String>) -> ContainerEvents {
        let last = Arc::new(Mutex::new(HashMap::new()));
        let since = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs() as i64;
        let task = engine.spawn(follow(
            engine.docker.clone(),
            names,
            since,
            Arc::clone(&last),
        ));
        ContainerEvents { last, task }
    }

    /// What container `name` is doing: running unless an event since [`Self::follow`] said
    /// otherwise. An event saying it went down is checked with the engine first: events arrive
    /// a moment late, and a restart's "die" may be read before its "start".
    pub fn state(&self, name: &str, engine: &Engine) -> RunState {
        let said = self.last_said(name).unwrap_or(RunState::Running);
        if said.alive() {
            return said;
        }
        engine.state(name).unwrap_or(said)
    }

    fn last_said(&self, name: &str) -> Option<RunState> {
        let last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        last.get(name).copied()
    }
}

impl Drop for ContainerEvents {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Read the events stream, asking again from the last event's second when it ends (the engine
/// restarted, or a proxy cut a long request); an event read twice changes nothing.
async fn follow(
    docker: Docker,
    names: Vec<String>,
    mut since: i64,
    last: Arc<Mutex<HashMap<String, RunState>>>,
) {
    loop {
        let filters = HashMap::from([
            ("type".to_string(), vec!["container".to_string()]),
            ("event".to_string(), ACTIONS.map(String::from).to_vec()),
            ("container".to_string(), names.clone()),
        ]);
        let opts = EventsOptions {
            since: Some(since.to_string()),
            filters: Some(filters),
            ..Default::default()
        };
        let mut stream = docker.events(Some(opts));
        while let Some(Ok(event)) = stream.next().await {
            since = event.time.unwrap_or(since);
            let name = event.actor.and_then(|a| a.attributes?.get("name").cloned());
            let state = event.action.as_deref().and_then(state_after);
            if let (Some(name), Some(state)) = (name, state) {
                let mut last = last.lock().unwrap_or_else(|e| e.into_inner());
                last.insert(name, state);
            }
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_followed_event_leaves_its_container_in_a_state() {
        for action in ACTIONS {
            assert!(state_after(action).is_some(), "{action}");
        }
        assert_eq!(state_after("die"), Some(RunState::Stopped));
        assert_eq!(state_after("unpause"), Some(RunState::Running));
        assert_eq!(state_after("exec_create: sh"), None);
    }
}
