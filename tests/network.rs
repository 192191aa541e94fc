//! Network and gray faults on the real cluster, each checked independently of kbench's own
//! observations: TCP connects made from inside the nodes' namespaces and from the host, a
//! download timed through a capped link, and the starved JVM's CPU time read from /proc. Then a
//! scenario with every kind runs end to end (clean audit under acks=all, plausible metrics), a
//! run SIGKILLed mid-fault is cleaned up by `kbench cluster down`, and nothing is left behind:
//! namespaces, links, host firewall rules, cgroups, processes.

mod common;

use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::TestHome;
use kbench::cluster::process::ProcessBackend;
use kbench::cluster::{ClusterGuard, StartOptions, Topology};
use kbench::faults::evidence::Evidence;
use kbench::netfault::{Direction, NetFault, NetKind, Scope};
use kbench::netfault::{NetEvidence, NetworkFaults};
use rdkafka::consumer::Consumer;

fn node_ip(n: u8) -> Ipv4Addr {
    Ipv4Addr::new(10, 231, 0, n)
}

/// Connect to `ip:port` from inside namespace `netns` (the host when `None`); the time it took,
/// or `None` when it failed within `timeout`.
fn connect_from(
    netns: Option<&str>,
    ip: Ipv4Addr,
    port: u16,
    timeout: Duration,
) -> Option<Duration> {
    let ns = netns.map(|n| format!("/run/netns/{n}"));
    std::thread::spawn(move || {
        if let Some(path) = ns {
            use std::os::fd::AsRawFd;
            let f = std::fs::File::open(&path).expect("namespace handle");
            // SAFETY: setns on an open descriptor; it moves only this helper thread.
            assert_eq!(unsafe { libc::setns(f.as_raw_fd(), libc::CLONE_NEWNET) }, 0);
        }
        let t = Instant::now();
        TcpStream::connect_timeout(&SocketAddr::from((ip, port)), timeout)
            .ok()
            .map(|_| t.elapsed())
    })
    .join()
    .unwrap()
}

fn reaches(netns: Option<&str>, ip: Ipv4Addr, port: u16) -> bool {
    connect_from(netns, ip, port, Duration::from_millis(700)).is_some()
}

fn fault(kind: NetKind, scope: Scope, direction: Direction) -> NetFault {
    NetFault {
        kind,
        scope,
        direction,
    }
}

/// What the host's own network configuration looks like, to prove kbench did not touch it.
fn host_config() -> String {
    let run = |args: &[&str]| {
        let out = Command::new(args[0])
            .args(&args[1..])
            .output()
            .expect(args[0]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    [
        run(&["ip", "netns", "list"]),
        run(&["ip", "-o", "link", "show"]),
        run(&["ip", "route", "show"]),
        run(&["nft", "list", "ruleset"]),
        run(&["iptables", "-S"]),
        run(&["tc", "qdisc", "show"]),
        std::fs::read_dir("/sys/fs/cgroup/cpu")
            .map(|d| {
                let mut v: Vec<String> = d
                    .flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect();
                v.sort();
                v.join(" ")
            })
            .unwrap_or_default(),
    ]
    .join("\n---\n")
}

fn assert_host_unchanged(before: &str) {
    let after = host_config();
    assert_eq!(
        before, after,
        "the host's namespaces, links, routes, rules, qdiscs or cgroups changed"
    );
}

/// CPU seconds process `pid` used, from /proc (utime + stime).
fn cpu_s(pid: i32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let rest = stat.rsplit_once(')').unwrap().1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = f[11].parse::<f64>().unwrap() + f[12].parse::<f64>().unwrap();
    // SAFETY: sysconf cannot fail for _SC_CLK_TCK.
    ticks / unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64
}

/// CPU per second `pid` used while `bootstrap` was flooded with metadata requests for `secs`.
fn busy_cpu_per_s(pid: i32, addr: Ipv4Addr, secs: f64) -> f64 {
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let workers: Vec<_> = (0..4)
        .map(|_| {
            let stop = stop.clone();
            std::thread::spawn(move || {
                // Fresh connections and metadata requests: work for the broker's network and
                // request threads, bounded by time.
                let deadline = Instant::now() + Duration::from_secs(30);
                while !stop.load(std::sync::atomic::Ordering::Relaxed) && Instant::now() < deadline
                {
                    let c: rdkafka::consumer::BaseConsumer = rdkafka::ClientConfig::new()
                        .set("bootstrap.servers", format!("{addr}:9092"))
                        .create()
                        .unwrap();
                    let _ = c.fetch_metadata(None, Duration::from_millis(500));
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_secs(1));
    let (c0, t0) = (cpu_s(pid), Instant::now());
    std::thread::sleep(Duration::from_secs_f64(secs));
    let used = (cpu_s(pid) - c0) / t0.elapsed().as_secs_f64();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    workers.into_iter().for_each(|w| w.join().unwrap());
    used
}

/// A server inside namespace `netns` that sends `bytes` to each of `clients` connections.
fn sender_in(
    netns: &str,
    ip: Ipv4Addr,
    port: u16,
    bytes: usize,
    clients: usize,
) -> std::process::Child {
    let code = format!(
        "import socket\ns=socket.socket();s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\n\
         s.bind(('{ip}',{port}));s.listen()\nfor _ in range({clients}):\n  c,_=s.accept();c.sendall(b'x'*{bytes});c.close()\n"
    );
    let child = Command::new("ip")
        .args(["netns", "exec", netns, "python3", "-c", &code])
        .spawn()
        .unwrap();
    common::wait_for("the sender to listen", Duration::from_secs(10), || {
        Command::new("ip")
            .args(["netns", "exec", netns, "ss", "-ltn"])
            .output()
            .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains(&format!(":{port}")))
    });
    child
}

/// Seconds to download everything the sender at `ip:port` sends.
fn download_s(ip: Ipv4Addr, port: u16) -> f64 {
    use std::io::Read;
    let t = Instant::now();
    let mut s =
        TcpStream::connect_timeout(&SocketAddr::from((ip, port)), Duration::from_secs(5)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).unwrap();
    t.elapsed().as_secs_f64()
}

fn start_cluster(home: &TestHome, name: &str) -> ClusterGuard {
    std::env::set_var("KBENCH_HOME", &home.home);
    std::env::set_var("KBENCH_DIST", &home.dist);
    let b = ProcessBackend::create(home.runs().join(name), Topology::default())
        .unwrap()
        .in_namespaces();
    let mut guard = ClusterGuard::new(Box::new(b));
    guard
        .backend()
        .start(&StartOptions::default(), &|m| eprintln!("{m}"))
        .expect("the cluster starts in namespaces");
    guard
}

#[test]
fn every_fault_kind_takes_effect_and_heals_as_checked_from_outside() {
    let _lock = common::cluster_lock();
    let before = host_config();
    let home = TestHome::new("network-probes");
    let mut guard = start_cluster(&home, "probes");
    let pids: Vec<i32> = home
        .state()
        .unwrap()
        .nodes
        .iter()
        .map(|n| n.process.unwrap().pid)
        .collect();
    assert_eq!(
        guard.backend().endpoints().brokers.bootstrap,
        "10.231.0.1:9092,10.231.0.2:9093,10.231.0.3:9094"
    );
    fn net(g: &mut ClusterGuard) -> &mut dyn NetworkFaults {
        g.backend().network_faults().expect("on the lab network")
    }

    // Peers: node 1 cannot reach node 2's inter-broker port, clients still reach node 1.
    assert!(reaches(Some("kbench-n1"), node_ip(2), 19093));
    net(&mut guard)
        .inject(
            0,
            1,
            &fault(NetKind::Partition, Scope::Peers, Direction::Both),
        )
        .unwrap();
    assert!(!reaches(Some("kbench-n1"), node_ip(2), 19093), "peer cut");
    assert!(
        !reaches(Some("kbench-n2"), node_ip(1), 19092),
        "peer cut, other way"
    );
    assert!(
        reaches(None, node_ip(1), 9092),
        "clients still reach the node"
    );
    net(&mut guard).heal(0).unwrap();
    assert!(reaches(Some("kbench-n1"), node_ip(2), 19093), "healed");

    // Clients, one way in: the host cannot connect, the peers can.
    net(&mut guard)
        .inject(
            1,
            2,
            &fault(NetKind::Partition, Scope::Clients, Direction::In),
        )
        .unwrap();
    assert!(!reaches(None, node_ip(2), 9093), "client cut");
    assert!(
        reaches(Some("kbench-n3"), node_ip(2), 19093),
        "peers still reach it"
    );
    net(&mut guard).heal(1).unwrap();
    assert!(reaches(None, node_ip(2), 9093));

    // Quorum: controller ports cut, replication ports not.
    net(&mut guard)
        .inject(
            2,
            3,
            &fault(NetKind::Partition, Scope::Quorum, Direction::Both),
        )
        .unwrap();
    assert!(!reaches(Some("kbench-n3"), node_ip(1), 29092), "quorum cut");
    assert!(
        reaches(Some("kbench-n3"), node_ip(1), 19092),
        "replication still flows"
    );
    net(&mut guard).heal_node(3).unwrap();
    assert!(reaches(Some("kbench-n3"), node_ip(1), 29092));

    // Loss: half the packets of node 1 dropped; a connect needs SYN and SYN-ACK through.
    net(&mut guard)
        .inject(
            3,
            1,
            &fault(NetKind::Loss { percent: 50.0 }, Scope::All, Direction::Both),
        )
        .unwrap();
    let ok = (0..40)
        .filter(|_| connect_from(None, node_ip(1), 9092, Duration::from_millis(250)).is_some())
        .count();
    net(&mut guard).heal(3).unwrap();
    assert!(
        (3..=32).contains(&ok),
        "{ok}/40 connects got through 50% loss"
    );
    let ok = (0..40).filter(|_| reaches(None, node_ip(1), 9092)).count();
    assert_eq!(ok, 40, "no loss after healing");

    // Delay: node 2's answers held 100 ms, so a connect takes at least that.
    let d = NetKind::Delay {
        delay: Duration::from_millis(100),
        jitter: Duration::ZERO,
    };
    net(&mut guard)
        .inject(4, 2, &fault(d, Scope::Clients, Direction::Out))
        .unwrap();
    let slow: Vec<Duration> = (0..5)
        .filter_map(|_| connect_from(None, node_ip(2), 9093, Duration::from_secs(2)))
        .collect();
    let evidence = net(&mut guard).heal(4).unwrap();
    assert_eq!(slow.len(), 5);
    assert!(
        slow.iter().all(|t| *t >= Duration::from_millis(95)),
        "{slow:?}"
    );
    assert!(
        evidence.iter().any(|e| matches!(
            e,
            NetEvidence::Healed { found, .. }
                if matches!(**found, NetEvidence::Delayed { packets } if packets > 0)
        )),
        "{evidence:?}"
    );
    let fast = connect_from(None, node_ip(2), 9093, Duration::from_secs(2)).unwrap();
    assert!(fast < Duration::from_millis(50), "{fast:?} after healing");

    // Bandwidth: 400 KiB out of node 3 through a 2 mbit cap takes over a second.
    let mut sender = sender_in("kbench-n3", node_ip(3), 7777, 400 * 1024, 2);
    net(&mut guard)
        .inject(
            5,
            3,
            &fault(
                NetKind::Bandwidth {
                    bits_per_s: 2_000_000,
                },
                Scope::All,
                Direction::Out,
            ),
        )
        .unwrap();
    let capped = download_s(node_ip(3), 7777);
    net(&mut guard).heal(5).unwrap();
    let free = download_s(node_ip(3), 7777);
    sender.wait().unwrap();
    assert!(capped > 1.2, "400 KiB through 2 mbit took {capped:.2}s");
    assert!(free < 0.5, "after healing it took {free:.2}s");

    // Starve: node 1's JVM, kept busy, gets at most its 5% quota.
    let busy = busy_cpu_per_s(pids[0], node_ip(1), 3.0);
    net(&mut guard)
        .inject(
            6,
            1,
            &fault(NetKind::Starve { cpu: 0.05 }, Scope::All, Direction::Both),
        )
        .unwrap();
    let starved = busy_cpu_per_s(pids[0], node_ip(1), 3.0);
    let evidence = net(&mut guard).heal(6).unwrap();
    eprintln!("node 1 CPU/s: busy {busy:.3}, starved {starved:.3}; {evidence:?}");
    assert!(starved < 0.09, "starved JVM used {starved:.3} CPU/s");
    assert!(
        busy > 2.0 * starved,
        "busy {busy:.3} vs starved {starved:.3}"
    );

    // Everything is in the state file while in force, and nothing is after healing.
    assert!(home.state().unwrap().lab.unwrap().applied.is_empty());
    guard.teardown().unwrap();
    assert_host_unchanged(&before);
    home.assert_nothing_left();
}

#[test]
fn a_scenario_with_every_kind_keeps_every_acked_record() {
    let _lock = common::cluster_lock();
    let before = host_config();
    let home = TestHome::new("network-run");
    let scenario = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scenarios/network-short.toml");
    let (_dir, r) = home.run_scenario(&scenario);
    let audit = &r.audit;
    assert_eq!(
        (audit.lost, audit.duplicated),
        (0, 0),
        "acks=all keeps every acked record"
    );
    assert_eq!(r.faults.len(), 4);
    for f in &r.faults {
        assert!(f.error.is_none(), "{}: {:?}", f.label, f.error);
        assert!(f.recovered_s.is_some(), "{} healed", f.label);
    }
    let cut = &r.faults[0];
    assert!(cut.label.contains("cut from peers"), "{}", cut.label);
    let m = cut.metrics.as_ref().unwrap();
    assert!(
        m.partition_ack_gaps_s.get(&0).is_some_and(|g| *g > 1.0),
        "{m:?}"
    );
    assert!(
        !m.isr_shrunk_s.is_empty() || !m.leader_reelection_s.is_empty(),
        "{m:?}"
    );
    let delay = r.faults[1].metrics.as_ref().unwrap();
    let p99 = delay.latency["during"]["ack_raw"].p99_us as f64 / 1000.0;
    assert!(p99 >= 70.0, "ack p99 during an 80 ms delay: {p99} ms");
    assert!(
        r.faults[3].evidence.iter().any(|e| matches!(
            e,
            Evidence::Network {
                net: NetEvidence::Healed { found, .. }
            } if matches!(**found, NetEvidence::Throttled { periods } if periods > 0)
        )),
        "{:?}",
        r.faults[3].evidence
    );
    assert_host_unchanged(&before);
    home.assert_nothing_left();
}

#[test]
fn cluster_down_removes_the_lab_after_kbench_was_killed_mid_fault() {
    let _lock = common::cluster_lock();
    let before = host_config();
    let home = TestHome::new("network-kill");
    let scenario = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scenarios/network-short.toml");
    let mut child = common::KillOnDrop(
        home.cmd()
            .args(["run", scenario.to_str().unwrap()])
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    common::wait_for(
        "the first fault to be in force",
        Duration::from_secs(180),
        || {
            home.state()
                .and_then(|s| s.lab)
                .is_some_and(|l| !l.applied.is_empty())
        },
    );
    assert!(
        child.try_wait().unwrap().is_none(),
        "kbench ended before the fault could be checked (its output above says why)"
    );
    // The state file records a fault before its rules are in place (so a crash in between
    // still removes them): wait for the cut itself, well inside the fault's 15 s.
    common::wait_for(
        "one node cut from its peers",
        Duration::from_secs(12),
        || {
            !reaches(Some("kbench-n1"), node_ip(2), 19093)
                || !reaches(Some("kbench-n2"), node_ip(3), 19094)
                || !reaches(Some("kbench-n3"), node_ip(1), 19092)
        },
    );
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        Path::new("/run/netns/kbench-hub").exists(),
        "the lab outlives a SIGKILLed kbench"
    );
    let down = home.run(&["cluster", "down"]);
    assert!(down.status.success());
    assert_host_unchanged(&before);
    home.assert_nothing_left();
}
