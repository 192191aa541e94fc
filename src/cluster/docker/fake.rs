//! A fake Docker engine for tests: an HTTP/1.1 server on a Unix socket that answers the Engine
//! API calls kbench makes from an in-memory world (images, networks, containers with state and
//! labels) and records every request. It lets the bollard side (paths, query strings, bodies,
//! status codes, the exec upgrade) be tested on machines without Docker; the tests using it are
//! in `backend_tests.rs`.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::{json, Value};

/// One request as the engine saw it: `"POST /containers/x/kill?signal=SIGKILL"` (version
/// prefix stripped, query decoded) and its body.
#[derive(Debug, Clone)]
pub struct Req {
    pub line: String,
    pub body: Value,
}

#[derive(Debug, Clone)]
pub struct Container {
    pub status: &'static str,
    pub exit: i64,
    pub labels: Value,
    pub created: Value,
}

impl Container {
    pub fn running(labels: Value) -> Container {
        Container {
            status: "running",
            exit: 0,
            labels,
            created: Value::Null,
        }
    }
}

#[derive(Debug, Default)]
pub struct World {
    pub requests: Vec<Req>,
    pub images: BTreeSet<String>,
    pub pullable: bool,
    pub networks: BTreeMap<String, Value>,
    pub containers: BTreeMap<String, Container>,
    /// Containers that exit with status 1 as soon as they are started.
    pub crash_on_start: BTreeSet<String>,
    /// Containers whose graceful stop runs into the kill timeout.
    pub hang_on_stop: BTreeSet<String>,
    /// What `exec` prints.
    pub exec_output: String,
}

impl World {
    pub fn lines(&self) -> Vec<&str> {
        self.requests.iter().map(|r| r.line.as_str()).collect()
    }
}

pub struct Fake {
    pub endpoint: String,
    path: PathBuf,
    world: Arc<Mutex<World>>,
}

impl Fake {
    pub fn start() -> Fake {
        static N: AtomicUsize = AtomicUsize::new(0);
        let n = N.fetch_add(1, Ordering::SeqCst);
        let path = std::env::temp_dir().join(format!(
            "kbench-fake-docker-{}-{n}.sock",
            std::process::id()
        ));
        let _ = std::fs::remove_file(&path);
        let listener = UnixListener::bind(&path).expect("bind fake engine socket");
        let world = Arc::new(Mutex::new(World::default()));
        let w = Arc::clone(&world);
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let w = Arc::clone(&w);
                std::thread::spawn(move || serve(conn, &w));
            }
        });
        Fake {
            endpoint: format!("unix://{}", path.display()),
            path,
            world,
        }
    }

    pub fn world(&self) -> MutexGuard<'_, World> {
        self.world.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Drop for Fake {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

struct Reply {
    status: u16,
    body: Vec<u8>,
    content_type: &'static str,
    upgrade: bool,
}

fn json_reply(status: u16, v: Value) -> Reply {
    Reply {
        status,
        body: v.to_string().into_bytes(),
        content_type: "application/json",
        upgrade: false,
    }
}

fn empty(status: u16) -> Reply {
    Reply {
        status,
        body: Vec::new(),
        content_type: "text/plain",
        upgrade: false,
    }
}

fn missing(what: &str) -> Reply {
    json_reply(404, json!({ "message": format!("No such object: {what}") }))
}

/// Docker's multiplexed stream: an 8-byte header (stream 1 = stdout, length) per frame.
fn stdout_frame(text: &str) -> Vec<u8> {
    let mut out = vec![1, 0, 0, 0];
    out.extend_from_slice(&u32::try_from(text.len()).unwrap_or(0).to_be_bytes());
    out.extend_from_slice(text.as_bytes());
    out
}

fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' if i + 2 < b.len() => {
                let hex = std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("");
                out.push(u8::from_str_radix(hex, 16).unwrap_or(b'?'));
                i += 3;
                continue;
            }
            b'+' => out.push(b' '),
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn query_param(query: &str, key: &str) -> Option<String> {
    query.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k == key).then(|| decode(v))
    })
}

/// Whether `labels` carry every `k=v` of a `{"label": [...]}` filter.
fn matches_filter(labels: &Value, query: &str) -> bool {
    let filters: Value = query_param(query, "filters")
        .and_then(|f| serde_json::from_str(&f).ok())
        .unwrap_or(Value::Null);
    filters["label"].as_array().is_none_or(|want| {
        want.iter().filter_map(Value::as_str).all(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            labels[k].as_str() == Some(v)
        })
    })
}

fn serve(conn: UnixStream, world: &Mutex<World>) {
    let Ok(write_half) = conn.try_clone() else {
        return;
    };
    let mut out = write_half;
    let mut reader = BufReader::new(conn);
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
            return;
        }
        let mut length = 0usize;
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).unwrap_or(0) == 0 {
                return;
            }
            if h.trim().is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                if k.eq_ignore_ascii_case("content-length") {
                    length = v.trim().parse().unwrap_or(0);
                }
            }
        }
        let mut body = vec![0u8; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let mut parts = request_line.split_whitespace();
        let method = parts.next().unwrap_or("").to_string();
        let target = parts.next().unwrap_or("").to_string();
        let reply = {
            let mut w = world.lock().unwrap_or_else(|e| e.into_inner());
            route(&mut w, &method, &target, &body)
        };
        let reason = if reply.status == 101 {
            "Switching Protocols"
        } else {
            "OK"
        };
        let mut head = format!("HTTP/1.1 {} {reason}\r\n", reply.status);
        if reply.upgrade {
            head.push_str("Connection: Upgrade\r\nUpgrade: tcp\r\n");
            head.push_str("Content-Type: application/vnd.docker.raw-stream\r\n\r\n");
        } else if reply.status == 204 {
            head.push_str("\r\n");
        } else {
            head.push_str(&format!(
                "Content-Type: {}\r\nContent-Length: {}\r\n\r\n",
                reply.content_type,
                reply.body.len()
            ));
        }
        let ok = out.write_all(head.as_bytes()).is_ok() && out.write_all(&reply.body).is_ok();
        if !ok || reply.upgrade {
            // The upgraded stream ends when the exec does: closing tells the client so.
            return;
        }
    }
}

/// The path without bollard's API-version prefix and the query, with the request logged.
fn record<'t>(
    w: &mut World,
    method: &str,
    target: &'t str,
    body: &[u8],
) -> (&'t str, &'t str, Value) {
    // bollard prefixes every path with the API version, e.g. `/v1.53`.
    let target = match target.strip_prefix("/v1.") {
        Some(rest) => rest.find('/').map_or(target, |i| &rest[i..]),
        None => target,
    };
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let body: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let line = if query.is_empty() {
        format!("{method} {path}")
    } else {
        format!("{method} {path}?{}", decode(query))
    };
    w.requests.push(Req {
        line,
        body: body.clone(),
    });
    (path, query, body)
}

fn no_route(path: &str) -> Reply {
    json_reply(
        404,
        json!({ "message": format!("fake engine: no route {path}") }),
    )
}

fn route(w: &mut World, method: &str, target: &str, body: &[u8]) -> Reply {
    let (path, query, body) = record(w, method, target, body);
    let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match (method, segs.as_slice()) {
        ("GET", ["version"]) => {
            json_reply(200, json!({ "ApiVersion": "1.41", "Version": "20.10.24" }))
        }
        ("GET", ["_ping"]) => Reply {
            status: 200,
            body: b"OK".to_vec(),
            content_type: "text/plain",
            upgrade: false,
        },
        (_, ["images", rest @ ..]) => {
            image_call(w, method, rest, query).unwrap_or_else(|| no_route(path))
        }
        (_, ["networks", rest @ ..]) => {
            network_call(w, method, rest, query, body).unwrap_or_else(|| no_route(path))
        }
        ("POST", ["containers", "create"]) => create_container(w, query, body),
        ("GET", ["containers", "json"]) => {
            let list: Vec<Value> = w
                .containers
                .iter()
                .filter(|(_, c)| matches_filter(&c.labels, query))
                .map(|(n, c)| json!({ "Names": [format!("/{n}")], "Labels": c.labels }))
                .collect();
            json_reply(200, Value::Array(list))
        }
        ("POST", ["exec", _, "start"]) => Reply {
            status: 101,
            body: stdout_frame(&w.exec_output),
            content_type: "",
            upgrade: true,
        },
        (_, ["containers", name, rest @ ..]) => container_call(w, method, name, rest),
        _ => no_route(path),
    }
}

fn image_call(w: &mut World, method: &str, segs: &[&str], query: &str) -> Option<Reply> {
    Some(match (method, segs) {
        ("GET", [rest @ .., "json"]) => {
            let image = rest.join("/");
            if w.images.contains(&image) {
                json_reply(200, json!({ "Id": "sha256:0" }))
            } else {
                missing(&image)
            }
        }
        ("POST", ["create"]) => {
            let image = format!(
                "{}:{}",
                query_param(query, "fromImage").unwrap_or_default(),
                query_param(query, "tag").unwrap_or_default()
            );
            if !w.pullable {
                return Some(missing(&format!("pull access denied for {image}")));
            }
            w.images.insert(image);
            json_reply(200, json!({ "status": "Downloaded newer image" }))
        }
        _ => return None,
    })
}

fn network_call(
    w: &mut World,
    method: &str,
    segs: &[&str],
    query: &str,
    body: Value,
) -> Option<Reply> {
    Some(match (method, segs) {
        ("POST", ["create"]) => {
            let name = body["Name"].as_str().unwrap_or_default().to_string();
            if w.networks.contains_key(&name) {
                return Some(json_reply(409, json!({ "message": "network exists" })));
            }
            w.networks.insert(name, body["Labels"].clone());
            json_reply(201, json!({ "Id": "net0", "Warning": "" }))
        }
        ("GET", []) => {
            let list: Vec<Value> = w
                .networks
                .iter()
                .filter(|(_, labels)| matches_filter(labels, query))
                .map(|(n, labels)| json!({ "Name": n, "Labels": labels }))
                .collect();
            json_reply(200, Value::Array(list))
        }
        ("GET", [name]) => match w.networks.get(*name) {
            Some(labels) => json_reply(200, json!({ "Name": name, "Labels": labels })),
            None => missing(name),
        },
        ("DELETE", [name]) => match w.networks.remove(*name) {
            Some(_) => empty(204),
            None => missing(name),
        },
        _ => return None,
    })
}

fn create_container(w: &mut World, query: &str, body: Value) -> Reply {
    let name = query_param(query, "name").unwrap_or_default();
    if w.containers.contains_key(&name) {
        return json_reply(409, json!({ "message": "name in use" }));
    }
    let c = Container {
        status: "created",
        exit: 0,
        labels: body["Labels"].clone(),
        created: body,
    };
    w.containers.insert(name.clone(), c);
    json_reply(201, json!({ "Id": name, "Warnings": [] }))
}

fn container_call(w: &mut World, method: &str, name: &str, rest: &[&str]) -> Reply {
    let crash = w.crash_on_start.contains(name);
    let hang = w.hang_on_stop.contains(name);
    let Some(c) = w.containers.get_mut(name) else {
        return missing(name);
    };
    let (status, exit) = match (method, rest) {
        ("GET", ["json"]) => {
            let state = json!({ "Status": c.status, "ExitCode": c.exit });
            return json_reply(200, json!({ "Name": format!("/{name}"), "State": state }));
        }
        ("GET", ["logs"]) => {
            return Reply {
                status: 200,
                body: stdout_frame(&format!("{name} log line\n")),
                content_type: "application/vnd.docker.multiplexed-stream",
                upgrade: false,
            };
        }
        ("POST", ["exec"]) if c.status != "running" => {
            return json_reply(409, json!({ "message": format!("{name} is {}", c.status) }));
        }
        ("POST", ["exec"]) => return json_reply(201, json!({ "Id": format!("exec-{name}") })),
        ("DELETE", []) => {
            w.containers.remove(name);
            return empty(204);
        }
        ("POST", ["start"]) if crash => ("exited", 1),
        ("POST", ["start"]) | ("POST", ["unpause"]) => ("running", 0),
        ("POST", ["stop"]) if hang => ("exited", 137),
        ("POST", ["stop"]) => ("exited", 143),
        ("POST", ["kill"]) => ("exited", 137),
        ("POST", ["pause"]) => ("paused", c.exit),
        _ => return missing(&format!("{name}/{}", rest.join("/"))),
    };
    c.status = status;
    c.exit = exit;
    empty(204)
}
