//! Several stateless `switchboard-server serve` instances on one PostgreSQL, behind HAProxy
//! (Debian's package), through the real binaries: HAProxy passes TLS through in TCP mode (so the
//! certificate every replica pinned is the one each instance presents: they share the data
//! folder's files, copied as a company copies them to another machine) and checks each
//! instance's `/v1/health`. Replicas (the real `switchboard` CLI, two users, two laptops each)
//! log follow-ups and sync concurrently while one instance is killed with SIGKILL and started
//! again: afterwards every replica holds every follow-up, the central store holds each exactly
//! once, the restarted instance takes traffic again, and no process printed a panic.
//!
//! Needs `SWITCHBOARD_TEST_PG_URL` (`scripts/with-test-postgres.sh`) and `haproxy` on the PATH
//! or in /usr/sbin (`scripts/install-deps.sh`).

use crate::cli_replica;
use crate::server_process;

use cli_replica::CliReplica;
use server_process::{free_port, ServerProcess};
use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Instances behind the balancer.
const INSTANCES: usize = 3;
/// Follow-ups each replica logs, one sync after each.
const ROUNDS: usize = 6;
/// How many times one sync is tried before the test gives up on it.
const SYNC_TRIES: usize = 30;

/// The HAProxy binary from Debian's package.
fn haproxy_binary() -> PathBuf {
    let found = std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .chain([PathBuf::from("/usr/sbin")])
        .map(|dir| dir.join("haproxy"))
        .find(|path| path.is_file());
    found.expect("haproxy is not installed: run scripts/install-deps.sh (apt-get install haproxy)")
}

/// HAProxy in the foreground over a generated configuration: one TCP frontend on a free port,
/// the instances as a round-robin backend with HTTPS health checks on `/v1/health`.
struct Balancer {
    folder: tempfile::TempDir,
    port: u16,
    child: Child,
}

impl Balancer {
    fn start(backends: &[u16]) -> Balancer {
        let folder = tempfile::tempdir().unwrap();
        let port = free_port();
        let servers: String = backends
            .iter()
            .enumerate()
            .map(|(i, p)| {
                format!(
                    "  server sb{i} 127.0.0.1:{p} check check-ssl verify none inter 200ms \
                     fall 2 rise 1\n"
                )
            })
            .collect();
        let config = format!(
            "global\n  maxconn 1000\n  stats socket {socket} mode 600 level admin\n\
             defaults\n  mode tcp\n  timeout connect 2s\n  timeout client 90s\n  \
             timeout server 90s\n  retries 3\n  option redispatch\n\
             frontend switchboard\n  bind 127.0.0.1:{port}\n  default_backend instances\n\
             backend instances\n  balance roundrobin\n  option httpchk\n  \
             http-check send meth GET uri /v1/health ver HTTP/1.1 hdr Host localhost\n  \
             http-check expect status 200\n{servers}",
            socket = folder.path().join("stats.sock").display(),
        );
        let config_path = folder.path().join("haproxy.cfg");
        std::fs::write(&config_path, config).unwrap();
        let child = Command::new(haproxy_binary())
            .arg("-db")
            .arg("-f")
            .arg(&config_path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(folder.path().join("haproxy.log")).unwrap())
            .spawn()
            .expect("starting haproxy");
        let balancer = Balancer {
            folder,
            port,
            child,
        };
        balancer.wait_until(|b| b.up().len() == backends.len(), "every instance is up");
        balancer
    }

    fn url(&self) -> String {
        format!("https://127.0.0.1:{}", self.port)
    }

    /// One stats-socket command's answer.
    fn ask(&self, command: &str) -> String {
        let Ok(mut socket) =
            std::os::unix::net::UnixStream::connect(self.folder.path().join("stats.sock"))
        else {
            return String::new();
        };
        socket.write_all(command.as_bytes()).unwrap();
        socket.write_all(b"\n").unwrap();
        let mut answer = String::new();
        let _ = socket.read_to_string(&mut answer);
        answer
    }

    /// `(server name, status, sessions so far)` of each backend server, from `show stat`.
    fn servers(&self) -> Vec<(String, String, u64)> {
        self.ask("show stat")
            .lines()
            .map(|line| line.split(',').collect::<Vec<_>>())
            .filter(|f| f.len() > 17 && f[0] == "instances" && f[1].starts_with("sb"))
            .map(|f| {
                (
                    f[1].to_string(),
                    f[17].to_string(),
                    f[7].parse().unwrap_or(0),
                )
            })
            .collect()
    }

    /// The backend servers HAProxy has marked UP.
    fn up(&self) -> Vec<String> {
        self.servers()
            .into_iter()
            .filter(|(_, status, _)| status == "UP")
            .map(|(name, _, _)| name)
            .collect()
    }

    fn wait_until(&self, done: impl Fn(&Balancer) -> bool, what: &str) {
        let started = Instant::now();
        while !done(self) {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "haproxy: timed out waiting until {what}; servers {:?}\n{}",
                self.servers(),
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.folder.path().join("haproxy.log")).unwrap_or_default()
    }
}

impl Drop for Balancer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `switchboard sync --json` until it succeeds: a sync cut by an instance's death fails like
/// any network failure and is tried again (the balancer sends the retry to a live instance).
/// Returns how many tries failed.
fn sync_until_done(replica: &CliReplica) -> usize {
    let mut last = String::new();
    for failed in 0..SYNC_TRIES {
        let run = replica.run(&["sync", "--json"]);
        run.no_panic();
        if run.code == 0 {
            return failed;
        }
        last = run.stderr.clone();
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!("sync failed {SYNC_TRIES} times; last:\n{last}");
}

/// Sorted follow-up ids in `GET /v1/follow-ups` as `replica`'s user sees it (all of BER).
fn central_follow_up_ids(url: &str, fingerprint: &str, token: &str) -> Vec<String> {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let answer = switchboard_test_support::pinned_http(fingerprint)
            .get(format!("{url}/v1/follow-ups"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert!(answer.status().is_success(), "{}", answer.status());
        let list: Vec<serde_json::Value> = answer.json().await.unwrap();
        let mut ids: Vec<String> = list
            .iter()
            .map(|f| f["id"].as_str().expect("a follow-up id").to_string())
            .collect();
        ids.sort();
        ids
    })
}

fn one_lead_csv(folder: &Path) -> PathBuf {
    let file = folder.join("lead.csv");
    std::fs::write(
        &file,
        "name,email,phone,country,kind,submitted_at\n\
         Scale Out,scale@example.com,+49 30 5550001,DE,demo,2026-03-01T10:00:00Z\n",
    )
    .unwrap();
    file
}

#[test]
fn replicas_sync_through_haproxy_while_an_instance_dies_and_returns() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let Some(pg) = runtime.block_on(switchboard_test_support::fresh_pg_url("scaleout_haproxy"))
    else {
        return;
    };
    drop(runtime);
    let haproxy = haproxy_binary();
    let first = ServerProcess::start_on(Some(&pg), |_| Vec::new());
    let mut instances = vec![first];
    while instances.len() < INSTANCES {
        let next = instances[0].another_instance();
        instances.push(next);
    }
    let ports: Vec<u16> = instances.iter().map(|s| s.port).collect();
    let balancer = Balancer::start(&ports);
    eprintln!("haproxy {} on {}", haproxy.display(), balancer.url());
    let url = balancer.url();
    let fingerprint = instances[0].fingerprint.clone();

    let replicas: Vec<CliReplica> = ["rita", "rita", "mona", "mona"]
        .iter()
        .map(|user| CliReplica::login(&url, &fingerprint, user, None))
        .collect();
    let file = one_lead_csv(replicas[0].sandbox.dir.path());
    replicas[0].run(&["import", file.to_str().unwrap()]).ok();
    sync_until_done(&replicas[0]);
    for replica in &replicas[1..] {
        sync_until_done(replica);
    }
    let lead = replicas[1]
        .strings("SELECT id FROM lead")
        .pop()
        .expect("the imported lead reached the other laptops");

    // Every replica logs and syncs on its own thread; the main thread kills an instance once
    // some syncs went through, and starts it again.
    let synced = Arc::new(AtomicUsize::new(0));
    let retried = Arc::new(AtomicUsize::new(0));
    let replicas: Vec<Arc<CliReplica>> = replicas.into_iter().map(Arc::new).collect();
    let workers: Vec<_> = replicas
        .iter()
        .enumerate()
        .map(|(n, replica)| {
            let replica = replica.clone();
            let synced = synced.clone();
            let retried = retried.clone();
            let lead = lead.clone();
            std::thread::spawn(move || {
                let mut logged = Vec::new();
                for round in 0..ROUNDS {
                    logged.push(replica.call(&lead, &format!("laptop {n} round {round}")));
                    retried.fetch_add(sync_until_done(&replica), Ordering::SeqCst);
                    synced.fetch_add(1, Ordering::SeqCst);
                }
                logged
            })
        })
        .collect();
    let started = Instant::now();
    while synced.load(Ordering::SeqCst) < replicas.len() && started.elapsed().as_secs() < 120 {
        std::thread::sleep(Duration::from_millis(20));
    }
    instances[1].kill();
    balancer.wait_until(
        |b| b.up().len() == INSTANCES - 1,
        "the killed instance is down",
    );
    std::thread::sleep(Duration::from_millis(500));
    instances[1].restart();
    balancer.wait_until(
        |b| b.up().len() == INSTANCES,
        "the restarted instance is up",
    );
    let mut expected = BTreeSet::new();
    for worker in workers {
        expected.extend(worker.join().expect("a replica's thread failed"));
    }
    assert_eq!(
        expected.len(),
        replicas.len() * ROUNDS,
        "follow-up ids repeat"
    );
    eprintln!(
        "{} syncs failed on the way and were tried again",
        retried.load(Ordering::SeqCst)
    );

    // Everything reaches everyone: one round to push the last, one to pull it everywhere.
    for _ in 0..2 {
        for replica in &replicas {
            sync_until_done(replica);
        }
    }
    for (n, replica) in replicas.iter().enumerate() {
        let held: BTreeSet<String> = replica.follow_up_ids().into_iter().collect();
        assert_eq!(
            held, expected,
            "laptop {n} does not hold exactly every follow-up"
        );
    }
    let central = central_follow_up_ids(&url, &fingerprint, &replicas[2].token);
    let distinct: BTreeSet<String> = central.iter().cloned().collect();
    assert_eq!(
        central.len(),
        distinct.len(),
        "the store holds a follow-up twice"
    );
    assert_eq!(distinct, expected, "the store lost or invented a follow-up");

    // The restarted instance serves again: new connections reach it.
    let before = balancer.servers();
    for replica in &replicas {
        sync_until_done(replica);
    }
    let after = balancer.servers();
    let sessions = |list: &[(String, String, u64)], name: &str| {
        list.iter().find(|(n, _, _)| n == name).map_or(0, |s| s.2)
    };
    assert!(
        sessions(&after, "sb1") > sessions(&before, "sb1"),
        "the restarted instance took no connection: {before:?} → {after:?}"
    );
    for instance in &instances {
        instance.assert_no_panic();
    }
    assert!(!balancer.log().contains("ALERT"), "{}", balancer.log());
}
