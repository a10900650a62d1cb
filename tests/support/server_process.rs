//! The real `switchboard-server` binary as a child process over its own data folder, so a test
//! can kill it with SIGKILL (no shutdown, no rollback, no checkpoint) and start it again on the
//! same folder and port.
#![allow(dead_code)] // Each test file uses a different part of the fixtures.

use crate::sync_support::PASSWORD;
use std::io::Write;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The built `switchboard-server` binary (next to the `switchboard` one).
pub fn server_binary() -> PathBuf {
    let cli = crate::support::binary();
    let path = cli.with_file_name(format!(
        "switchboard-server{}",
        std::env::consts::EXE_SUFFIX
    ));
    assert!(
        path.is_file(),
        "{} was not found; build it first with `cargo build --workspace --bins`",
        path.display()
    );
    path
}

/// A data folder set up through the binary (offices BER and PAR, users as in `Hub`) and the
/// server process serving it, if running.
pub struct ServerProcess {
    pub data: tempfile::TempDir,
    pub port: u16,
    pub fingerprint: String,
    /// Extra arguments of `serve` (e.g. `--public-url`).
    pub serve_args: Vec<String>,
    child: Option<Child>,
}

fn admin(data: &Path, args: &[&str], stdin: Option<&str>) -> String {
    let mut command = Command::new(server_binary());
    command
        .args(args)
        .arg("--data")
        .arg(data)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().expect("starting switchboard-server");
    let mut input = child.stdin.take().unwrap();
    if let Some(text) = stdin {
        input.write_all(text.as_bytes()).unwrap();
    }
    drop(input);
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "switchboard-server {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A port of 127.0.0.1 nobody listens on now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl ServerProcess {
    /// Initialises a data folder and starts serving it on a free port of 127.0.0.1.
    pub fn start() -> ServerProcess {
        ServerProcess::start_with(|_| Vec::new())
    }

    /// Like `start`, with extra `serve` arguments made from the port it will listen on.
    pub fn start_with(serve_args: impl Fn(u16) -> Vec<String>) -> ServerProcess {
        ServerProcess::start_on(None, serve_args)
    }

    /// Like `start_with`, on the store `store` names (`init --store`: a `postgres://` URL), or
    /// on SQLite in the data folder when `None`.
    pub fn start_on(store: Option<&str>, serve_args: impl Fn(u16) -> Vec<String>) -> ServerProcess {
        let data = tempfile::tempdir().unwrap();
        let dir = data.path().join("server");
        let mut init = vec!["init"];
        if let Some(url) = store {
            init.extend(["--store", url]);
        }
        let printed = admin(&dir, &init, None);
        let fingerprint = printed
            .lines()
            .find_map(|l| l.strip_prefix("certificate SHA-256 fingerprint: "))
            .expect("init prints the fingerprint")
            .trim()
            .to_string();
        for (code, country) in [("BER", "DE"), ("PAR", "FR")] {
            admin(
                &dir,
                &["office", "add", code, "--name", code, "--country", country],
                None,
            );
            admin(&dir, &["route", "add", country, code], None);
        }
        for (name, role, office) in [
            ("rita", "rep", Some("BER")),
            ("mona", "manager", Some("BER")),
        ] {
            let mut args = vec!["user", "add", name, "--role", role];
            if let Some(o) = office {
                args.extend(["--office", o]);
            }
            admin(&dir, &args, Some(&format!("{PASSWORD}\n")));
        }
        let port = free_port();
        let mut server = ServerProcess {
            data,
            port,
            fingerprint,
            serve_args: serve_args(port),
            child: None,
        };
        server.restart();
        server
    }

    /// Another instance over the same store: this data folder's files (configuration,
    /// certificate and key, suppression and master keys) copied to a new folder, as a company
    /// copies them to a second machine, and served on a free port of its own.
    pub fn another_instance(&self) -> ServerProcess {
        let data = tempfile::tempdir().unwrap();
        let dir = data.path().join("server");
        std::fs::create_dir(&dir).unwrap();
        for entry in std::fs::read_dir(self.data_dir()).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_owned();
            if path.is_file() && name != "serve.lock" {
                std::fs::copy(&path, dir.join(name)).unwrap();
            }
        }
        let mut other = ServerProcess {
            data,
            port: free_port(),
            fingerprint: self.fingerprint.clone(),
            serve_args: self.serve_args.clone(),
            child: None,
        };
        other.restart();
        other
    }

    /// The folder the server keeps its store in.
    pub fn data_dir(&self) -> PathBuf {
        self.data.path().join("server")
    }

    /// Where the server's standard error goes (appended across restarts).
    pub fn stderr_path(&self) -> PathBuf {
        self.data.path().join("serve.stderr")
    }

    /// What the server printed on standard error so far.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(self.stderr_path()).unwrap_or_default()
    }

    /// Runs `switchboard-server ARGS --data DIR` on this folder (with `stdin` as its input);
    /// returns what it printed, failing the test if it failed.
    pub fn admin(&self, args: &[&str], stdin: Option<&str>) -> String {
        admin(&self.data_dir(), args, stdin)
    }

    /// Fails the test if the server printed a panic.
    pub fn assert_no_panic(&self) {
        let log = self.stderr();
        assert!(
            !log.contains("panicked at"),
            "switchboard-server panicked:\n{log}"
        );
    }

    /// `https://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("https://127.0.0.1:{}", self.port)
    }

    /// Starts serving (again) on the same folder and port; returns once it accepts connections.
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "the server is already running");
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(30) {
            let mut child = Command::new(server_binary())
                .args(["serve", "--listen", &format!("127.0.0.1:{}", self.port)])
                .args(&self.serve_args)
                .arg("--data")
                .arg(self.data_dir())
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(
                    std::fs::OpenOptions::new()
                        .create(true)
                        .append(true)
                        .open(self.stderr_path())
                        .unwrap(),
                )
                .spawn()
                .expect("starting switchboard-server serve");
            let listening = loop {
                if child.try_wait().unwrap().is_some() {
                    // The killed process's socket may hold the port for a moment: try again.
                    break false;
                }
                if TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                    break true;
                }
                if started.elapsed() > Duration::from_secs(30) {
                    let _ = child.kill();
                    let _ = child.wait();
                    break false;
                }
                std::thread::sleep(Duration::from_millis(20));
            };
            if listening {
                self.child = Some(child);
                return;
            }
            let _ = child.wait();
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!(
            "switchboard-server did not start serving on port {}",
            self.port
        );
    }

    /// SIGKILL: the process ends at once, mid-transaction if it was in one.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let status = Command::new("kill")
                .args(["-KILL", &child.id().to_string()])
                .status()
                .unwrap();
            assert!(status.success());
            let _ = child.wait();
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.kill();
    }
}
