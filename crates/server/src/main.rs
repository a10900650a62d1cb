//! `switchboard-server`: set up a data folder, administer accounts and routing, serve.

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};
use std::io::{IsTerminal, Read};
use std::path::PathBuf;
use std::sync::Arc;
use switchboard_domain::partner_args::PartnerArgs;
use switchboard_domain::partners;
use switchboard_domain::{Clock, SystemClock};
use switchboard_protocol::Role;
use switchboard_server::accounts::{self, PasswordCost};
use switchboard_server::data_dir::{self, InitOptions};
use switchboard_server::{admin, devices, store, unsubscribe, ServerState};

#[derive(Parser)]
#[command(
    name = "switchboard-server",
    version,
    about = "Switchboard's central store over HTTPS"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create a data folder: store, certificate (self-signed unless given), suppression key.
    Init {
        #[arg(long)]
        data: PathBuf,
        /// PostgreSQL URL (postgres://…); SQLite in the data folder when omitted.
        #[arg(long)]
        store: Option<String>,
        #[arg(long, requires = "key")]
        cert: Option<PathBuf>,
        #[arg(long, requires = "cert")]
        key: Option<PathBuf>,
        /// Extra host names for the self-signed certificate.
        #[arg(long = "name")]
        names: Vec<String>,
        /// The https:// address recipients of mail can reach the server at: one-click
        /// unsubscribe links start with it (kept in server.json as `public_url`).
        #[arg(long)]
        public_url: Option<String>,
        /// Encrypt the SQLite store (SQLCipher) with the key in this file: 64 hex digits, mode
        /// 0600, read at every start (not copied into the data folder)
        #[arg(long)]
        db_key_file: Option<PathBuf>,
    },
    /// Offices.
    Office {
        #[command(subcommand)]
        command: OfficeCommand,
    },
    /// Accounts.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Signed-in devices: list them, revoke one (it erases its replica at its next contact).
    Device {
        #[command(subcommand)]
        command: DeviceCommand,
    },
    /// Routing of registrations by country.
    Route {
        #[command(subcommand)]
        command: RouteCommand,
    },
    /// The website's intake keys.
    IntakeKey {
        #[command(subcommand)]
        command: IntakeKeyCommand,
    },
    /// Partners (resellers, distributors, offices): the only recipients of shared data.
    Partner {
        #[command(subcommand)]
        command: PartnerCommand,
    },
    /// Re-wrap every person's key under a new master key and destroy the old one, so erased
    /// people's data left in old WAL and backups can no longer be read even with the old
    /// data folder. Stop the other instances first; copy the new master.key to them.
    RotateKeys {
        #[arg(long)]
        data: PathBuf,
    },
    /// Encrypt the SQLite store of a folder made without --db-key-file (SQLCipher) with the key
    /// in this file: 64 hex digits, mode 0600. Stop the server first; crash-safe, and the next
    /// start finishes a conversion cut short.
    EncryptStore {
        #[arg(long)]
        data: PathBuf,
        #[arg(long)]
        db_key_file: PathBuf,
    },
    /// Serve HTTPS.
    Serve {
        #[arg(long)]
        data: PathBuf,
        #[arg(long, default_value = "0.0.0.0:8443")]
        listen: String,
        /// The https:// address recipients of mail can reach the server at (overrides
        /// `public_url` in server.json); without one, replicas cannot send cadence mail.
        #[arg(long)]
        public_url: Option<String>,
    },
    /// The offices' unsubscribe link keys.
    UnsubscribeKey {
        #[command(subcommand)]
        command: UnsubscribeKeyCommand,
    },
    /// Desktop updates this server offers to signed-in devices.
    Update {
        #[command(subcommand)]
        command: UpdateCommand,
    },
}

#[derive(Subcommand)]
enum UpdateCommand {
    /// Offer a signed desktop package (the .deb of `make bundle`, signed with `tauri signer
    /// sign --app-version X.Y.Z`) to every device; kept in the store, so every instance on the
    /// same PostgreSQL serves it.
    Publish {
        /// The .deb.
        file: PathBuf,
        /// The .sig file `tauri signer sign` wrote next to it.
        #[arg(long)]
        signature: PathBuf,
        /// X.Y.Z, the version the package installs (and the signature names).
        #[arg(long)]
        version: String,
        /// What changed, shown to the user before they install.
        #[arg(long, default_value = "")]
        notes: String,
        #[arg(long)]
        data: PathBuf,
    },
    /// The published updates, newest first.
    List {
        #[arg(long)]
        data: PathBuf,
    },
}

#[derive(Subcommand)]
enum UnsubscribeKeyCommand {
    /// Make a new current key for an office; links made with older keys keep working.
    /// Replicas receive the new key at their next sign-in.
    Rotate {
        #[arg(long)]
        office: String,
        #[arg(long)]
        data: PathBuf,
    },
}

#[derive(Subcommand)]
enum OfficeCommand {
    /// Add an office.
    Add {
        code: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        country: String,
        #[arg(long)]
        data: PathBuf,
    },
    /// How many days a device of the office may stay idle before it must sign in again
    /// (`default`: the server's 30 days).
    IdleLimit {
        code: String,
        /// Days (1 to 3650), or `default`.
        days: String,
        #[arg(long)]
        data: PathBuf,
    },
}

#[derive(Subcommand)]
enum DeviceCommand {
    /// List devices: id, user, office, name, app version, signed in, last sync, revoked.
    List {
        /// Only the devices of this office's users.
        #[arg(long)]
        office: Option<String>,
        #[arg(long)]
        data: PathBuf,
    },
    /// Revoke a device: refused at once; at its next contact it erases its data and keys.
    Revoke {
        id: String,
        #[arg(long)]
        data: PathBuf,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Add an account; the password comes from stdin when it is not a terminal.
    Add {
        name: String,
        #[arg(long)]
        role: String,
        #[arg(long)]
        office: Option<String>,
        #[arg(long)]
        data: PathBuf,
    },
    /// Give an account another role (rep, manager, privacy, privacy_officer, admin) and
    /// office (its only one: a manager's further offices are dropped); it holds from the
    /// account's next request, without signing in again.
    Role {
        name: String,
        #[arg(long)]
        role: String,
        #[arg(long)]
        office: Option<String>,
        #[arg(long)]
        data: PathBuf,
    },
    /// Revoke an account and all its tokens.
    Revoke {
        name: String,
        #[arg(long)]
        data: PathBuf,
    },
    /// The offices a manager manages: `add` one more, or `remove` one (which revokes every
    /// device the manager signed in on; the last office cannot be removed).
    Office {
        #[command(subcommand)]
        command: UserOfficeCommand,
    },
    /// Every account: name, role, all its offices, active or revoked.
    List {
        #[arg(long)]
        data: PathBuf,
    },
}

#[derive(Subcommand)]
enum UserOfficeCommand {
    /// Let manager NAME manage office CODE too (from their next request).
    Add {
        name: String,
        code: String,
        #[arg(long)]
        data: PathBuf,
    },
    /// Take office CODE from NAME; every device NAME signed in on is revoked (it holds that
    /// office's people and erases them at its next contact).
    Remove {
        name: String,
        code: String,
        #[arg(long)]
        data: PathBuf,
    },
}

#[derive(Subcommand)]
enum RouteCommand {
    /// Route registrations from COUNTRY to OFFICE.
    Add {
        country: String,
        office: String,
        #[arg(long)]
        data: PathBuf,
    },
}

#[derive(Subcommand)]
enum PartnerCommand {
    /// Register a partner; it reaches every replica by sync.
    Add {
        #[command(flatten)]
        partner: PartnerArgs,
        #[arg(long)]
        data: PathBuf,
    },
    /// List the registered partners.
    List {
        #[arg(long)]
        data: PathBuf,
    },
}

#[derive(Subcommand)]
enum IntakeKeyCommand {
    /// Create a key and print it (it is not shown again).
    Create {
        #[arg(long)]
        data: PathBuf,
    },
}

fn read_password() -> anyhow::Result<String> {
    let password = if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password("Password: ")?;
        let second = rpassword::prompt_password("Again: ")?;
        if first != second {
            bail!("the passwords differ");
        }
        first
    } else {
        let mut text = String::new();
        std::io::stdin().read_to_string(&mut text)?;
        text.lines().next().unwrap_or_default().to_string()
    };
    if password.len() < 8 {
        bail!("a password has at least 8 characters");
    }
    Ok(password)
}

fn with_store<T>(
    data: &std::path::Path,
    f: impl FnMut(&mut dyn store::Tx) -> switchboard_server::Result<T>,
) -> anyhow::Result<T> {
    let store = data_dir::open_store(data)?;
    Ok(store::write(&*store, f)?)
}

/// Reads, checks and stores an update package (refusing an oversized file before reading it).
fn publish_update(
    file: &std::path::Path,
    signature: &std::path::Path,
    version: &str,
    notes: &str,
    data: &std::path::Path,
    clock: &dyn Clock,
) -> anyhow::Result<switchboard_protocol::updates::UpdateManifest> {
    use switchboard_server::updates::{self, Publish};
    let limit = switchboard_protocol::updates::MAX_ARTIFACT_BYTES as u64;
    let len = std::fs::metadata(file)
        .with_context(|| format!("reading {}", file.display()))?
        .len();
    if len > limit {
        bail!(
            "{} has {len} bytes; at most {} MiB are served",
            file.display(),
            limit / (1024 * 1024)
        );
    }
    let package = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let signature = std::fs::read(signature)
        .ok()
        .filter(|s| s.len() <= 64 * 1024)
        .and_then(|s| String::from_utf8(s).ok())
        .with_context(|| format!("{} is not a readable signature file", signature.display()))?;
    let p = Publish {
        package: &package,
        signature: &signature,
        version,
        notes,
    };
    // Checked before the store is opened, so a mistake costs nothing.
    updates::check(&p).map_err(|e| anyhow::anyhow!("{}: {e}", e.code()))?;
    let now = clock.now();
    with_store(data, |tx| updates::publish(tx, &p, now)).map_err(|e| anyhow::anyhow!("{e:#}"))
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let clock = SystemClock;
    match cli.command {
        Command::Init {
            data,
            store,
            cert,
            key,
            names,
            public_url,
            db_key_file,
        } => {
            let fingerprint = data_dir::init(
                &data,
                &InitOptions {
                    store,
                    cert,
                    key,
                    names,
                    public_url,
                    db_key_file,
                },
            )?;
            println!("initialised {}", data.display());
            println!("certificate SHA-256 fingerprint: {fingerprint}");
        }
        Command::Office {
            command:
                OfficeCommand::Add {
                    code,
                    name,
                    country,
                    data,
                },
        } => {
            with_store(&data, |tx| admin::add_office(tx, &code, &name, &country))?;
            println!("office {code} added");
        }
        Command::User {
            command:
                UserCommand::Add {
                    name,
                    role,
                    office,
                    data,
                },
        } => {
            let role: Role = role.parse().map_err(|e| anyhow::anyhow!("{e}"))?;
            let password = read_password()?;
            let hash = accounts::hash_password(&password, PasswordCost::Standard)?;
            let now = clock.now();
            with_store(&data, |tx| {
                accounts::add_user(tx, &name, role, office.as_deref(), &hash, now)
            })?;
            println!("user {name} added ({role})");
        }
        Command::User {
            command:
                UserCommand::Role {
                    name,
                    role,
                    office,
                    data,
                },
        } => {
            let role: Role = role.parse().map_err(|e| anyhow::anyhow!("{e}"))?;
            let now = clock.now();
            let revoked = with_store(&data, |tx| {
                switchboard_server::roles::set_role(tx, &name, role, office.as_deref(), now)
            })?;
            match office {
                Some(code) => println!("user {name} is now a {role} of office {code}"),
                None => println!("user {name} is now a {role} (every office)"),
            }
            if revoked > 0 {
                println!(
                    "{revoked} device(s) of {name} revoked: they hold the old office's people \
                     and erase them at their next contact; {name} signs in again"
                );
            }
        }
        Command::User {
            command: UserCommand::Revoke { name, data },
        } => {
            let now = clock.now();
            with_store(&data, |tx| accounts::revoke_user(tx, &name, now))?;
            println!(
                "user {name} revoked; their tokens no longer work and their devices erase their \
                 data at their next contact"
            );
        }
        Command::User {
            command:
                UserCommand::Office {
                    command: UserOfficeCommand::Add { name, code, data },
                },
        } => {
            let store = data_dir::open_store(&data)?;
            switchboard_server::roles::add_office_and_catch_up(&*store, &name, &code)?;
            println!(
                "{name} manages office {code} too, from their next request (the next sync \
                 brings its leads)"
            );
        }
        Command::User {
            command:
                UserCommand::Office {
                    command: UserOfficeCommand::Remove { name, code, data },
                },
        } => {
            let now = clock.now();
            let revoked = with_store(&data, |tx| {
                switchboard_server::roles::remove_office(tx, &name, &code, now)
            })?;
            println!("{name} no longer works in office {code}");
            println!(
                "{revoked} device(s) of {name} revoked: they hold office {code}'s people and \
                 erase them at their next contact; {name} signs in again"
            );
        }
        Command::User {
            command: UserCommand::List { data },
        } => {
            for a in with_store(&data, switchboard_server::roles::list)? {
                println!(
                    "{}\t{}\t{}\t{}",
                    a.name,
                    a.role,
                    if a.offices.is_empty() {
                        "-".to_string()
                    } else {
                        a.offices.join(",")
                    },
                    if a.revoked { "revoked" } else { "active" }
                );
            }
        }
        Command::Office {
            command: OfficeCommand::IdleLimit { code, days, data },
        } => {
            let limit = match days.trim() {
                "default" => None,
                n => Some(n.parse::<i64>().map_err(|_| {
                    anyhow::anyhow!("'{n}' is not a number of days (or `default`)")
                })?),
            };
            with_store(&data, |tx| admin::set_idle_limit(tx, &code, limit))?;
            match limit {
                Some(n) => println!("devices of {code} must sign in again after {n} idle days"),
                None => println!(
                    "devices of {code} must sign in again after the server's default of {} idle days",
                    switchboard_server::state::DEFAULT_TOKEN_TTL_DAYS
                ),
            }
        }
        Command::Device {
            command: DeviceCommand::List { office, data },
        } => {
            let offices = office.map(|o| vec![o]);
            let list = with_store(&data, |tx| devices::list(tx, offices.as_deref()))?;
            let time = |t: Option<chrono::DateTime<chrono::Utc>>| {
                t.map_or_else(
                    || "-".to_string(),
                    |t| t.format("%Y-%m-%d %H:%M").to_string(),
                )
            };
            for d in list {
                println!(
                    "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
                    d.id,
                    d.user,
                    d.office.as_deref().unwrap_or("-"),
                    d.name,
                    d.app_version.as_deref().unwrap_or("-"),
                    time(Some(d.signed_in_at)),
                    time(d.last_sync),
                    d.revoked_at.map_or_else(
                        || "active".to_string(),
                        |t| format!("revoked {}", time(Some(t)))
                    ),
                );
            }
        }
        Command::Device {
            command: DeviceCommand::Revoke { id, data },
        } => {
            let now = clock.now();
            let d = with_store(&data, |tx| devices::revoke(tx, &id, None, "admin", now))?;
            println!(
                "device {} ({}, {}) revoked: it is refused at once and erases its data and keys \
                 at its next contact",
                d.id, d.user, d.name
            );
        }
        Command::Route {
            command:
                RouteCommand::Add {
                    country,
                    office,
                    data,
                },
        } => {
            with_store(&data, |tx| admin::add_route(tx, &country, &office))?;
            println!("registrations from {country} go to {office}");
        }
        Command::IntakeKey {
            command: IntakeKeyCommand::Create { data },
        } => {
            let now = clock.now();
            let key = with_store(&data, |tx| accounts::create_intake_key(tx, now))?;
            println!("{}", key.expose());
        }
        Command::Partner {
            command: PartnerCommand::Add { partner, data },
        } => {
            let partner = partners::validate(&partner.new_partner()?, "admin", clock.now())?;
            with_store(&data, |tx| admin::add_partner(tx, &partner))?;
            println!(
                "partner {} registered ({}, {}, basis {}): {}",
                partner.name,
                partner.kind,
                partner.country,
                partner.basis,
                partners::fields_text(&partner.fields)
            );
        }
        Command::Partner {
            command: PartnerCommand::List { data },
        } => {
            for p in with_store(&data, admin::partners)? {
                println!(
                    "{}\t{}\t{}\t{}\t{}\t{}",
                    p.id,
                    p.name,
                    p.kind,
                    p.country,
                    p.basis,
                    partners::fields_text(&p.fields)
                );
            }
        }
        Command::EncryptStore { data, db_key_file } => {
            data_dir::encrypt_store(&data, &db_key_file)
                .map_err(|e| anyhow::anyhow!("{}: {e}", e.code()))?;
            println!(
                "the store in {} is encrypted under the key in {}; keep that file (mode 0600) \
                 and a copy of it somewhere safe",
                data.display(),
                db_key_file.display()
            );
        }
        Command::RotateKeys { data } => {
            let count =
                data_dir::rotate_keys(&data).map_err(|e| anyhow::anyhow!("{}: {e}", e.code()))?;
            println!(
                "re-wrapped {count} person keys under a new master key; the old one is destroyed. \
                 Copy {} to every other instance's data folder before starting it.",
                data.join(switchboard_server::sealing::MASTER_KEY_FILE)
                    .display()
            );
        }
        Command::UnsubscribeKey {
            command: UnsubscribeKeyCommand::Rotate { office, data },
        } => {
            let now = clock.now();
            let key_id = with_store(&data, |tx| unsubscribe::rotate(tx, &office, now))?;
            println!("office {office} makes unsubscribe links with key {key_id} from now on");
        }
        Command::Update {
            command:
                UpdateCommand::Publish {
                    file,
                    signature,
                    version,
                    notes,
                    data,
                },
        } => {
            let manifest = publish_update(&file, &signature, &version, &notes, &data, &clock)?;
            println!(
                "update {} published ({} bytes, SHA-256 {}); devices offer it at their next check",
                manifest.version, manifest.size, manifest.sha256
            );
        }
        Command::Update {
            command: UpdateCommand::List { data },
        } => {
            for m in with_store(&data, |tx| switchboard_server::updates::list(tx))? {
                println!(
                    "{}\t{}\t{} bytes\t{}",
                    m.version, m.pub_date, m.size, m.notes
                );
            }
        }
        Command::Serve {
            data,
            listen,
            public_url,
        } => {
            let _served = data_dir::hold_while_serving(&data)?;
            let mut deployment = data_dir::load(&data)?;
            if let Some(url) = public_url {
                deployment.public_url = Some(unsubscribe::check_public_url(&url)?);
            }
            if deployment.public_url.is_none() {
                eprintln!(
                    "no public URL (--public-url or public_url in server.json): replicas \
                     cannot put unsubscribe links into mail, so cadence mail is refused"
                );
            }
            // Open the store before the runtime starts: the PostgreSQL client blocks.
            let state = ServerState::from_deployment(&deployment, Arc::new(SystemClock))?;
            eprintln!(
                "certificate SHA-256 fingerprint: {}",
                deployment.fingerprint
            );
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .context("starting the async runtime")?;
            runtime.block_on(switchboard_server::serve::serve_until_signal(
                &listen, state,
            ))?;
        }
    }
    Ok(())
}
