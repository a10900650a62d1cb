//! Load benchmark of the central store (issue 3, benchmark 3): N concurrent simulated replicas
//! each push 10 operations, pull, and repeat, over HTTPS on loopback. Prints throughput, p50
//! and p99 latency and the error count.
//!
//! `cargo run --release -p switchboard-test-support --features bench --bin switchboard-server-bench --
//!  [--replicas 200] [--seconds 20] [--store postgres://…]`
//! (1,000 replicas need `ulimit -n 2300` or more: one connection per replica on both ends.)

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use switchboard_protocol::*;
use switchboard_test_support::server::{ApiClient, TestOptions, TestServer};

struct Args {
    replicas: usize,
    seconds: u64,
    store: Option<String>,
}

fn args() -> Args {
    let mut out = Args {
        replicas: 200,
        seconds: 20,
        store: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--replicas" => out.replicas = it.next().and_then(|v| v.parse().ok()).unwrap_or(200),
            "--seconds" => out.seconds = it.next().and_then(|v| v.parse().ok()).unwrap_or(20),
            "--store" => out.store = it.next(),
            other => {
                eprintln!("unknown argument {other}");
                std::process::exit(2);
            }
        }
    }
    out
}

/// Refuses to start when the open-file limit cannot hold a connection per replica on both
/// ends (client and the in-process server), instead of failing midway with "too many open files".
fn check_fd_limit(replicas: usize) {
    let needed = replicas as u64 * 2 + 256;
    let soft = std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("Max open files"))
                .and_then(|l| l.split_whitespace().nth(3))
                .and_then(|v| v.parse::<u64>().ok())
        });
    if let Some(soft) = soft.filter(|&s| s < needed) {
        eprintln!(
            "{replicas} replicas need about {needed} open files, the limit is {soft}: \
             run `ulimit -n {needed}` first"
        );
        std::process::exit(2);
    }
}

/// A follow-up logged by `rep` (the pushing user: the server refuses another author).
fn follow_up(lead: &str, rep: &str, n: u64) -> Op {
    Op::FollowUpLogged(FollowUp {
        id: format!("{lead}-fu-{n}"),
        lead_id: lead.to_string(),
        channel: Channel::Phone,
        direction: Direction::Out,
        outcome: Outcome::NoAnswer,
        note: Some("left a message, will try again tomorrow".into()),
        occurred_at: chrono::Utc::now(),
        rep: rep.into(),
        next_follow_up_at: None,
    })
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let args = args();
    check_fd_limit(args.replicas);
    let server = TestServer::start(TestOptions {
        store: args.store.clone(),
        ..TestOptions::default()
    })
    .await
    .expect("server starts");
    let offices = ["A", "B", "C", "D"];
    for o in offices {
        server.add_office(o, "DE").await.expect("office");
        server
            .add_user(&format!("rep{o}"), Role::Rep, Some(o), "bench password")
            .await
            .expect("user");
    }
    let mut clients: Vec<ApiClient> = Vec::new();
    for o in offices {
        clients.push(
            server
                .login(&format!("rep{o}"), "bench password")
                .await
                .expect("login"),
        );
    }
    let errors = Arc::new(AtomicU64::new(0));
    let refusals_shown = Arc::new(AtomicU64::new(0));
    let ops_applied = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(args.seconds);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for r in 0..args.replicas {
        // Each replica has its own connection pool, like a separate laptop.
        let base = &clients[r % clients.len()];
        let client = base.against(server.http(), &base.base);
        let rep = format!("rep{}", offices[r % offices.len()]);
        let errors = errors.clone();
        let refusals_shown = refusals_shown.clone();
        let ops_applied = ops_applied.clone();
        tasks.push(tokio::spawn(async move {
            let replica = format!("bench-replica-{r}");
            let lead = format!("bench-lead-{r}");
            let mut latencies = Vec::new();
            let mut seq = 0i64;
            let mut cursor = 0i64;
            let create = Op::LeadFieldsSet(LeadFieldsSet {
                lead_id: lead.clone(),
                fields: LeadFields::Identity {
                    name: Some(format!("Lead {r}")),
                    company: None,
                },
                hlc: format!(
                    "{:013}-00000-{replica}",
                    chrono::Utc::now().timestamp_millis()
                ),
                created_at: chrono::Utc::now(),
            });
            let mut pending = vec![create];
            while Instant::now() < deadline {
                while pending.len() < 10 {
                    pending.push(follow_up(&lead, &rep, seq as u64 + pending.len() as u64));
                }
                let ops: Vec<PushOp> = pending
                    .drain(..)
                    .map(|op| {
                        seq += 1;
                        PushOp { seq, op }
                    })
                    .collect();
                let t = Instant::now();
                match client.push(&replica, ops).await {
                    Ok(resp) => {
                        latencies.push(t.elapsed());
                        let applied = resp
                            .results
                            .iter()
                            .filter(|r| r.status == PushStatus::Applied)
                            .count();
                        ops_applied.fetch_add(applied as u64, Ordering::Relaxed);
                        if applied != resp.results.len() {
                            errors.fetch_add(1, Ordering::Relaxed);
                            let refused = resp
                                .results
                                .iter()
                                .find(|r| r.status != PushStatus::Applied);
                            if refusals_shown.fetch_add(1, Ordering::Relaxed) < 5 {
                                eprintln!("push not applied: {refused:?}");
                            }
                        }
                    }
                    Err(e) => {
                        eprintln!("push: {e}");
                        errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
                let t = Instant::now();
                match client.pull(cursor, 1000, 0).await {
                    Ok(page) => {
                        latencies.push(t.elapsed());
                        cursor = page.next_cursor;
                    }
                    Err(e) => {
                        eprintln!("pull: {e}");
                        errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            latencies
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.expect("replica task"));
    }
    let elapsed = started.elapsed().as_secs_f64();
    all.sort();
    println!(
        "store={} replicas={} seconds={:.1} requests={} requests/s={:.0} ops/s={:.0} p50={:.1}ms p99={:.1}ms errors={}",
        server.state.store.kind(),
        args.replicas,
        elapsed,
        all.len(),
        all.len() as f64 / elapsed,
        ops_applied.load(Ordering::Relaxed) as f64 / elapsed,
        percentile(&all, 0.50).as_secs_f64() * 1000.0,
        percentile(&all, 0.99).as_secs_f64() * 1000.0,
        errors.load(Ordering::Relaxed),
    );
    server.stop().await;
}
