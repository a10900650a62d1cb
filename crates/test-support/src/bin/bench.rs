//! Load benchmark of the central store (issues 3 and 14): N concurrent simulated replicas each
//! sync — push 10 operations, then pull the office's changes — over HTTPS on loopback, in the
//! packed form real replicas send first (`--wire compact` for protocol 4's form, `--wire json`
//! for JSON). Closed loop by default (each replica syncs again as soon as it is answered:
//! saturation throughput); `--interval-ms` makes it an open loop (each replica syncs on a
//! schedule, so latency is measured at a stated offered load). Prints throughput, p50 and p99
//! latency, the error count and load averages.
//!
//! `cargo run --release -p switchboard-test-support --features bench --bin switchboard-server-bench --
//!  [--replicas 200] [--seconds 20] [--store postgres://…] [--wire packed|compact|json] [--no-own]
//!  [--interval-ms MS [--jitter-pct 20]] [--warmup-s 0]`
//! (1,000 replicas need `ulimit -n 2300` or more: one connection per replica on both ends.)

// Beside this file, in a folder cargo does not take for another binary.
#[path = "bench/replica.rs"]
mod replica;

use replica::{Replica, Wire};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use switchboard_protocol::*;
use switchboard_test_support::server::{TestOptions, TestServer};

struct Args {
    replicas: usize,
    seconds: u64,
    store: Option<String>,
    wire: Wire,
    own: bool,
    /// Open loop: each replica starts a sync (push, then pull) every this many ms.
    interval_ms: Option<u64>,
    /// Open loop: each start moves by up to ± this share of the interval.
    jitter_pct: u64,
    /// Requests sent in the first this many seconds (TLS handshakes, the first pull of the
    /// backlog) are left out of the latency and throughput figures.
    warmup_s: u64,
}

fn usage(problem: &str) -> ! {
    eprintln!(
        "{problem}\nusage: switchboard-server-bench [--replicas N] [--seconds S] [--store URL] \
         [--wire packed|compact|json] [--no-own] [--interval-ms MS [--jitter-pct P]] [--warmup-s S]"
    );
    std::process::exit(2);
}

fn args() -> Args {
    let mut out = Args {
        replicas: 200,
        seconds: 20,
        store: None,
        wire: Wire::Packed,
        own: true,
        interval_ms: None,
        jitter_pct: 20,
        warmup_s: 0,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut number = |name: &str| -> u64 {
            it.next()
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| usage(&format!("{name} needs a number")))
        };
        match a.as_str() {
            "--replicas" => out.replicas = number("--replicas") as usize,
            "--seconds" => out.seconds = number("--seconds"),
            "--interval-ms" => out.interval_ms = Some(number("--interval-ms").max(1)),
            "--jitter-pct" => out.jitter_pct = number("--jitter-pct").min(100),
            "--warmup-s" => out.warmup_s = number("--warmup-s"),
            "--no-own" => out.own = false,
            "--store" => out.store = it.next(),
            "--wire" => {
                out.wire = it
                    .next()
                    .as_deref()
                    .and_then(Wire::parse)
                    .unwrap_or_else(|| usage("--wire is packed, compact or json"))
            }
            other => usage(&format!("unknown argument {other}")),
        }
    }
    out
}

/// The 1-, 5- and 15-minute load averages, as `uptime` shows them.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|t| t.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

/// A small deterministic generator for the open loop's jitter (no need for secure numbers).
struct Jitter(u64);

impl Jitter {
    /// A value in `[-1, 1]`.
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
    }
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
    let load_before = load_average();
    let server = TestServer::start(TestOptions {
        store: args.store.clone(),
        ..TestOptions::default()
    })
    .await
    .expect("server starts");
    let offices = ["A", "B", "C", "D"];
    let mut tokens = Vec::new();
    for o in offices {
        server.add_office(o, "DE").await.expect("office");
        server
            .add_user(&format!("rep{o}"), Role::Rep, Some(o), "bench password")
            .await
            .expect("user");
        let login = server
            .login(&format!("rep{o}"), "bench password")
            .await
            .expect("login");
        tokens.push(login.token.expose().to_string());
    }
    let errors = Arc::new(AtomicU64::new(0));
    let refusals_shown = Arc::new(AtomicU64::new(0));
    let ops_applied = Arc::new(AtomicU64::new(0));
    let late = Arc::new(AtomicU64::new(0));
    let missed = Arc::new(AtomicU64::new(0));
    let interval = args.interval_ms.map(Duration::from_millis);
    let started = Instant::now();
    let measured_from = started + Duration::from_secs(args.warmup_s);
    let deadline = measured_from + Duration::from_secs(args.seconds);
    let mut tasks = Vec::new();
    for r in 0..args.replicas {
        // Each replica has its own connection pool, like a separate laptop.
        let replica = Replica {
            http: server.http(),
            base: server.url.clone(),
            token: tokens[r % tokens.len()].clone(),
            id: format!("bench-replica-{r}"),
            wire: args.wire,
            own: args.own,
        };
        let rep = format!("rep{}", offices[r % offices.len()]);
        let (errors, refusals_shown, ops_applied, late, missed) = (
            errors.clone(),
            refusals_shown.clone(),
            ops_applied.clone(),
            late.clone(),
            missed.clone(),
        );
        let jitter_share = args.jitter_pct as f64 / 100.0;
        tasks.push(tokio::spawn(async move {
            let lead = format!("bench-lead-{r}");
            let mut jitter =
                Jitter(0x9E37_79B9_7F4A_7C15 ^ (r as u64 + 1).wrapping_mul(0x2545_F491));
            // Request latencies, and (open loop) each sync's time from its scheduled start to
            // its pull's answer: a sync that starts late because the one before ran over counts
            // its wait too.
            let mut latencies = Vec::new();
            let mut syncs = Vec::new();
            let mut seq = 0i64;
            let mut cursor = 0i64;
            let create = Op::LeadFieldsSet(LeadFieldsSet {
                lead_id: lead.clone(),
                fields: LeadFields::Identity {
                    name: Some(format!("Lead {r}")),
                    company: None,
                },
                hlc: format!(
                    "{:013}-00000-{}",
                    chrono::Utc::now().timestamp_millis(),
                    replica.id
                ),
                created_at: chrono::Utc::now(),
            });
            let mut pending = vec![create];
            // Open loop: replicas start spread over the first interval.
            let mut next = interval.map(|i| started + i.mul_f64((jitter.next() + 1.0) / 2.0));
            loop {
                let scheduled = match (next, interval) {
                    (Some(at), Some(every)) => {
                        let now = Instant::now();
                        if at >= deadline || now >= deadline {
                            // Syncs that fell due before the deadline but could not start by
                            // then (the server fell behind) are counted, not sent: each run
                            // stays bounded however far behind it is.
                            let mut due = at;
                            while due < deadline {
                                missed.fetch_add(1, Ordering::Relaxed);
                                due += every;
                            }
                            break;
                        }
                        if at > now {
                            tokio::time::sleep_until(at.into()).await;
                        } else if now - at > every / 10 {
                            late.fetch_add(1, Ordering::Relaxed);
                        }
                        let step = every.as_secs_f64() * (1.0 + jitter_share * jitter.next());
                        next = Some(at + Duration::from_secs_f64(step.max(0.0)));
                        at
                    }
                    _ => {
                        if Instant::now() >= deadline {
                            break;
                        }
                        Instant::now()
                    }
                };
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
                match replica.push(ops).await {
                    Ok(resp) => {
                        let counted = t >= measured_from;
                        if counted {
                            latencies.push(t.elapsed());
                        }
                        let applied = resp
                            .results
                            .iter()
                            .filter(|r| r.status == PushStatus::Applied)
                            .count();
                        if counted {
                            ops_applied.fetch_add(applied as u64, Ordering::Relaxed);
                        }
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
                match replica.pull(cursor, 1000, seq).await {
                    Ok(page) => {
                        if t >= measured_from {
                            latencies.push(t.elapsed());
                        }
                        cursor = page.next_cursor;
                    }
                    Err(e) => {
                        eprintln!("pull: {e}");
                        errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
                if interval.is_some() && scheduled >= measured_from {
                    syncs.push(scheduled.elapsed());
                }
            }
            (latencies, syncs)
        }));
    }
    let mut all = Vec::new();
    let mut syncs = Vec::new();
    for t in tasks {
        let (latencies, sync_times) = t.await.expect("replica task");
        all.extend(latencies);
        syncs.extend(sync_times);
    }
    // Throughput counts the measured window (requests in flight at its end finish after it).
    let elapsed = measured_from.elapsed().as_secs_f64();
    let load_after = load_average();
    all.sort();
    syncs.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let mode = match args.interval_ms {
        None => "closed-loop".to_string(),
        Some(i) => format!(
            "open-loop interval={i}ms jitter=±{}% offered={:.0} syncs/s ({:.0} requests/s)",
            args.jitter_pct,
            args.replicas as f64 * 1000.0 / i as f64,
            2.0 * args.replicas as f64 * 1000.0 / i as f64
        ),
    };
    println!(
        "store={} wire={} own={} {mode} replicas={} warmup={}s seconds={:.1} requests={} requests/s={:.0} ops/s={:.0} p50={:.1}ms p99={:.1}ms errors={}",
        server.state.store.kind(),
        args.wire.name(),
        args.own,
        args.replicas,
        args.warmup_s,
        elapsed,
        all.len(),
        all.len() as f64 / elapsed,
        ops_applied.load(Ordering::Relaxed) as f64 / elapsed,
        ms(percentile(&all, 0.50)),
        ms(percentile(&all, 0.99)),
        errors.load(Ordering::Relaxed),
    );
    if args.interval_ms.is_some() {
        println!(
            "  syncs={} sync-from-schedule p50={:.1}ms p99={:.1}ms late-starts={} missed={}",
            syncs.len(),
            ms(percentile(&syncs, 0.50)),
            ms(percentile(&syncs, 0.99)),
            late.load(Ordering::Relaxed),
            missed.load(Ordering::Relaxed),
        );
    }
    println!("  load average before: {load_before}; after: {load_after}");
    server.stop().await;
}
