//! `switchboard login --server URL --user NAME [--fingerprint SHA256 | --ca-file F]`: logs in to
//! the central store, records the server in the replica and keeps the token in the OS keychain.

use crate::commands::sync::{failure, runtime};
use crate::context::Context;
use crate::failure::{CliResult, Failure};
use crate::output;
use std::io::{BufRead, IsTerminal};
use std::path::PathBuf;
use switchboard_app::signin::{self, Login, SignInError, SignedIn};
use switchboard_sync::keychain::{Keychain, NO_KEYCHAIN_HELP};
use switchboard_sync::{Secret, SyncError, TrustAnchor};

/// Arguments of `login`.
#[derive(Debug, clap::Args)]
pub struct LoginArgs {
    /// The central store, e.g. https://sb.example.com:8443
    #[arg(long)]
    pub server: String,
    /// Trust the server by the SHA-256 fingerprint `switchboard-server init` printed
    #[arg(long, conflicts_with = "ca_file")]
    pub fingerprint: Option<String>,
    /// Trust the server by the certificate authorities in this PEM file
    #[arg(long)]
    pub ca_file: Option<PathBuf>,
    /// Your user name on the server
    #[arg(long)]
    pub user: String,
    /// Read the password from the first line of standard input instead of a prompt
    #[arg(long)]
    pub password_stdin: bool,
    /// Print the token instead of storing it in the keychain (for SWITCHBOARD_TOKEN in scripts)
    #[arg(long)]
    pub print_token: bool,
    /// The name this computer has in the device list managers see [default: the host name]
    #[arg(long)]
    pub device_name: Option<String>,
}

/// Logs in and stores the token.
pub fn run(ctx: &Context, args: LoginArgs) -> CliResult {
    let anchor = match (&args.fingerprint, &args.ca_file) {
        (Some(pin), _) => TrustAnchor::fingerprint(pin).map_err(failure)?,
        (None, Some(file)) => TrustAnchor::CaFile(file.clone()),
        (None, None) => TrustAnchor::SystemRoots,
    };
    let password = read_password(&args)?;
    // Fail before talking to the server if the token would have nowhere to go.
    let keychain = if args.print_token {
        None
    } else {
        Some(
            Keychain::system()
                .map_err(|_| Failure::from_sync_code("keychain", NO_KEYCHAIN_HELP.to_string()))?,
        )
    };
    let mut store = ctx.create_store()?;
    let ca_file = args.ca_file.as_ref().map(|p| p.display().to_string());
    let login = Login {
        server_url: &args.server,
        anchor: &anchor,
        ca_file: ca_file.as_deref(),
        user: &args.user,
        password: &password,
        device_name: args.device_name.as_deref(),
    };
    let signed_in = runtime()?.block_on(signin::sign_in(&mut store, &login, keychain.as_ref()));
    if let Err(SignInError::Login(SyncError::DeviceRevoked(why))) = &signed_in {
        // A revoked device signing in again: it erases itself as at a sync.
        let keychain = keychain.or_else(|| Keychain::system().ok());
        let (_, message) = signin::erase_revoked(store, keychain.as_ref(), why);
        return Err(Failure::from_sync_code("device_revoked", message));
    }
    let SignedIn { answer, server } = signed_in.map_err(|e| match e {
        SignInError::Login(e) | SignInError::Keychain(e) => failure(e),
        SignInError::Store(e) => Failure::from(e),
    })?;
    let stored = if keychain.is_some() {
        "keychain"
    } else {
        "printed"
    };
    if ctx.json {
        let mut value = serde_json::json!({
            "server": server,
            "user": answer.user,
            "role": answer.role,
            "office": answer.office,
            "offices": answer.offices,
            "expires_at": answer.expires_at,
            "token_stored": stored,
            "device_id": answer.device_id,
        });
        if args.print_token {
            value["token"] = serde_json::Value::String(answer.token.expose().to_string());
        }
        return output::json(&value);
    }
    if args.print_token {
        // The one place a token is shown: the user asked for it, for a script's environment.
        return output::line(answer.token.expose());
    }
    output::line(format!(
        "Logged in to {server} as {} ({}{}){}. The token is in the OS keychain; it stays valid \
         while this computer syncs (the server's idle limit applies, now until {}).",
        answer.user,
        answer.role,
        match answer.offices.as_deref() {
            Some(all) if all.len() > 1 => format!(", offices {}", all.join(", ")),
            _ => answer
                .office
                .as_deref()
                .map(|o| format!(", office {o}"))
                .unwrap_or_default(),
        },
        answer
            .device_id
            .as_deref()
            .map(|d| format!(" on this computer as device {d}"))
            .unwrap_or_default(),
        output::time(answer.expires_at)
    ))
}

fn read_password(args: &LoginArgs) -> CliResult<Secret> {
    let stdin = std::io::stdin();
    let password = if args.password_stdin || !stdin.is_terminal() {
        if !args.password_stdin {
            return Err(Failure::bad_input(
                "standard input is not a terminal: pass --password-stdin to read the password from it",
            ));
        }
        let mut line = String::new();
        stdin
            .lock()
            .read_line(&mut line)
            .map_err(|e| Failure::io("reading the password", e))?;
        line.trim_end_matches(['\r', '\n']).to_string()
    } else {
        rpassword::prompt_password(format!("Password for {}: ", args.user))
            .map_err(|e| Failure::io("reading the password", e))?
    };
    if password.is_empty() {
        return Err(Failure::bad_input("the password is empty"));
    }
    Ok(Secret::new(password))
}
