//! `switchboard sync [--watch]`: pushes local changes to the central store and pulls everyone
//! else's; `--watch` keeps doing so until interrupted.

use crate::context::Context;
use crate::failure::{CliResult, Exit, Failure};
use crate::output;
use std::io::{IsTerminal, Write};
use switchboard_core::replica;
use switchboard_sync::keychain::{self, Keychain, TOKEN_VAR};
use switchboard_sync::{engine, Progress, Secret, SyncError};

/// Arguments of `sync`.
#[derive(Debug, clap::Args)]
pub struct SyncArgs {
    /// Keep syncing: remote changes arrive at once (live stream), local ones leave within milliseconds
    #[arg(long)]
    pub watch: bool,
    /// Show progress on stderr even when it is not a terminal
    #[arg(long)]
    pub progress: bool,
}

/// Runs one sync, or keeps syncing with `--watch`.
pub fn run(ctx: &Context, args: SyncArgs) -> CliResult {
    let mut store = ctx.open_store()?;
    let state = replica::state(store.conn())?;
    let (Some(server), Some(user)) = (state.server_url.clone(), state.user.clone()) else {
        return Err(Failure::from_sync_code(
            "no_token",
            "this replica has no server yet: run `switchboard login --server URL --user NAME`"
                .to_string(),
        ));
    };
    let token = token_for(&user, &server)?;
    let client = engine::client_for(&store).map_err(failure)?;
    let show = !ctx.json && (args.progress || std::io::stderr().is_terminal());
    let json = ctx.json;
    let mut progress = move |p: Progress| report_progress(&p, show, json);
    let rt = runtime()?;
    if args.watch {
        let watched = rt.block_on(engine::watch(
            &mut store,
            &client,
            &token,
            &mut progress,
            async {
                let _ = tokio::signal::ctrl_c().await;
            },
        ));
        return watched.map_err(|e| revoked_or_failure(e, store));
    }
    let synced = rt.block_on(engine::sync_once(
        &mut store,
        &client,
        &token,
        &mut progress,
    ));
    let report = synced.map_err(|e| revoked_or_failure(e, store))?;
    if show {
        eprintln!();
    }
    if ctx.json {
        return output::json(&report);
    }
    output::line(summary(&report))
}

fn summary(r: &engine::SyncReport) -> String {
    let mut text = format!(
        "Pushed {} operations ({} applied, {} already known, {} rejected); pulled {} changes in {} pages.",
        r.pushed, r.applied, r.duplicate, r.rejected, r.pulled, r.pages
    );
    if let Some(why) = &r.new_replica_id {
        text.push_str(&format!(" New replica id: {why}."));
    }
    if r.rejected > 0 {
        text.push_str(" See `switchboard status` for why operations were rejected.");
    }
    text
}

fn report_progress(p: &Progress, show: bool, json: bool) {
    match p {
        Progress::Synced(report) if json => {
            println!("{}", serde_json::to_string(report).unwrap_or_default());
        }
        Progress::Synced(report) => println!("{}", summary(report)),
        Progress::Retrying { error } if !json => {
            eprintln!("switchboard: sync failed, retrying: {error}")
        }
        Progress::Live { connected } if !json => {
            if *connected {
                eprintln!("switchboard: holding the server's live stream: changes arrive at once")
            } else {
                eprintln!("switchboard: lost the server's live stream: polling until it is back")
            }
        }
        Progress::Pushed { ops, pending, .. } if show => {
            eprint!("\rpushed {ops} operations, {pending} waiting…            ");
        }
        Progress::Pulled { total, cursor, .. } if show => {
            eprint!("\rpulled {total} changes (cursor {cursor})…            ");
        }
        _ => {}
    }
    let _ = std::io::stderr().flush();
}

/// The token: `SWITCHBOARD_TOKEN`, else the OS keychain.
pub fn token_for(user: &str, server: &str) -> CliResult<Secret> {
    keychain::resolve_token(
        std::env::var(TOKEN_VAR).ok(),
        Keychain::system,
        user,
        server,
    )
    .map_err(failure)
}

/// A runtime for one command: the engine runs on this thread, its spawned requests on two
/// workers. A first sync applies each page here while a worker downloads and decodes the next
/// (`engine::Prefetch`); on a current-thread runtime that download only moved while the apply
/// waited, so the two ran one after the other (docs/BENCHMARKS.md, issue 14).
pub fn runtime() -> CliResult<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Failure::io("starting the async runtime", e))
}

/// A revoked device erases its replica and keys (the store closes first) and says why; any
/// other error is reported as it is.
fn revoked_or_failure(e: SyncError, store: switchboard_core::Store) -> Failure {
    let SyncError::DeviceRevoked(why) = &e else {
        return failure(e);
    };
    let keychain = Keychain::system().ok();
    let (_, message) = switchboard_app::signin::erase_revoked(store, keychain.as_ref(), why);
    Failure::from_sync_code("device_revoked", message)
}

/// Maps a sync error to the command's failure (codes stay the engine's).
pub fn failure(e: SyncError) -> Failure {
    match e {
        SyncError::Core(core) => Failure::from(core),
        SyncError::BadInput(message) => Failure::bad_input(message),
        other => Failure::from_sync_code(other.code(), other.to_string()),
    }
}

impl Failure {
    /// A sync failure that is not the caller's input: exit 1 with the engine's code.
    pub fn from_sync_code(code: &'static str, message: String) -> Failure {
        Failure {
            exit: Exit::Failed,
            code,
            message,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::runtime;
    use tokio::runtime::RuntimeFlavor;

    /// A first sync's download of the next page runs on a worker while this thread applies one;
    /// a current-thread runtime would put the two one after the other again.
    #[test]
    fn a_command_runs_on_a_runtime_with_workers_for_the_prefetch() {
        let rt = runtime().unwrap();
        assert_eq!(rt.handle().runtime_flavor(), RuntimeFlavor::MultiThread);
        assert_eq!(rt.metrics().num_workers(), 2);
    }
}
