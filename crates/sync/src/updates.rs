//! Updates from the office's own server: check, download through the pinned client, verify the
//! signature (Tauri's minisign format, `switchboard_protocol::updates::verify`), install on the
//! user's word.
//!
//! Why not tauri-plugin-updater itself: the office's server is trusted by a pinned certificate
//! fingerprint, and the plugin trusts system roots (its only escape hatches are
//! `dangerousAcceptInvalidCerts`, which trusts anything, and `configure_client`, which hands over
//! a reqwest 0.13 builder while this client's pinned rustls configuration is built for reqwest
//! 0.12 — two TLS stacks to keep in step, and a token sent by another client). So the manifest
//! and package come through the same pinned client as sync, and the package is checked with the
//! same minisign verification the plugin runs, including its signed-version check.

use crate::client::Client;
use crate::error::{Result, SyncError};
use std::path::{Path, PathBuf};
use switchboard_protocol::updates::{self as wire, UpdateManifest};
use switchboard_protocol::Secret;

/// Whether `candidate` (X.Y.Z) is newer than `current`; an unreadable version is never newer.
pub fn is_newer(candidate: &str, current: &str) -> bool {
    match (wire::parse_version(candidate), wire::parse_version(current)) {
        (Some(c), Some(now)) => c > now,
        _ => false,
    }
}

/// The office's newest update when it is newer than `current`.
pub async fn check(
    client: &Client,
    token: &Secret,
    current: &str,
) -> Result<Option<UpdateManifest>> {
    Ok(client
        .update_manifest(token)
        .await?
        .filter(|m| is_newer(&m.version, current)))
}

/// Downloads the package `manifest` names and checks it under `pubkey` (the build's
/// `plugins.updater.pubkey`); only a package that passes is returned.
pub async fn download_verified(
    client: &Client,
    token: &Secret,
    manifest: &UpdateManifest,
    pubkey: &str,
) -> Result<Vec<u8>> {
    if manifest.size > wire::MAX_ARTIFACT_BYTES as u64 {
        return Err(SyncError::UpdateRefused(format!(
            "the update announces {} bytes, more than the {} MiB an update may have; it was not \
             downloaded",
            manifest.size,
            wire::MAX_ARTIFACT_BYTES / (1024 * 1024)
        )));
    }
    let package = client
        .update_package(token, &manifest.url, manifest.size)
        .await?;
    verify(&package, manifest, pubkey)?;
    Ok(package)
}

/// Checks downloaded bytes against the manifest and the build's key.
pub fn verify(package: &[u8], manifest: &UpdateManifest, pubkey: &str) -> Result<()> {
    if package.len() as u64 != manifest.size {
        return Err(SyncError::UpdateRefused(format!(
            "the update's package has {} bytes, not the {} announced; it was not installed",
            package.len(),
            manifest.size
        )));
    }
    wire::verify(package, &manifest.signature, pubkey, &manifest.version)
        .map_err(|problem| SyncError::UpdateRefused(problem.to_string()))?;
    if !wire::looks_like_deb(package) {
        return Err(SyncError::UpdateRefused(
            "the update is signed but is not a Debian package; it was not installed".into(),
        ));
    }
    Ok(())
}

/// The command that installs a verified package: `pkexec` asks for an administrator's password
/// in the desktop session (as tauri-plugin-updater's `.deb` install does first).
pub fn install_command(package: &Path) -> Vec<String> {
    vec![
        "pkexec".into(),
        "dpkg".into(),
        "-i".into(),
        package.display().to_string(),
    ]
}

/// Writes a verified package to a new private folder (`0700`, created here, never reused) under
/// the temporary directory and returns its path (kept after a failed install, so the user can
/// install it by hand). A folder that already exists is never written into: someone else could
/// swap the verified file before the installer reads it as root.
pub fn save_package(package: &[u8], version: &str) -> Result<PathBuf> {
    let io = |e: std::io::Error| SyncError::UpdateRefused(format!("saving the update: {e}"));
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    static SAVED: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = SAVED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!(
        "switchboard-update-{}-{nanos:09}-{n}",
        std::process::id()
    ));
    let mut builder = std::fs::DirBuilder::new();
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(&dir).map_err(io)?;
    let path = dir.join(format!("switchboard_{version}.deb"));
    std::fs::write(&path, package).map_err(io)?;
    Ok(path)
}

/// Installs a saved package with `install_command`; the error says how to do it by hand.
pub fn install(package: &Path) -> Result<()> {
    let command = install_command(package);
    let by_hand = format!(
        "install it from a terminal with `sudo apt install {}`",
        package.display()
    );
    let status = std::process::Command::new(&command[0])
        .args(&command[1..])
        .status()
        .map_err(|e| {
            SyncError::UpdateRefused(format!("could not start {}: {e}; {by_hand}", command[0]))
        })?;
    if status.success() {
        Ok(())
    } else {
        Err(SyncError::UpdateRefused(format!(
            "the installer stopped ({status}); {by_hand}"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_higher_plain_version_is_newer() {
        assert!(is_newer("0.2.0", "0.1.9"));
        assert!(is_newer("1.0.0", "0.99.99"));
        assert!(!is_newer("0.1.0", "0.1.0"));
        assert!(!is_newer("0.0.9", "0.1.0"));
        assert!(!is_newer("v9.0.0", "0.1.0"));
    }

    #[test]
    fn the_install_runs_dpkg_through_pkexec_on_the_saved_file() {
        let path = save_package(b"!<arch>\ndebian-binary", "9.8.7").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"!<arch>\ndebian-binary");
        assert_eq!(
            install_command(&path),
            ["pkexec", "dpkg", "-i", &path.display().to_string()]
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let dir = path.parent().unwrap();
            let mode = std::fs::metadata(dir).unwrap().permissions().mode();
            assert_eq!(
                mode & 0o777,
                0o700,
                "only this user may touch the saved package"
            );
        }
        // A second save never reuses a folder.
        let again = save_package(b"x", "9.8.7").unwrap();
        assert_ne!(again.parent(), path.parent());
        for p in [path, again] {
            std::fs::remove_dir_all(p.parent().unwrap()).unwrap();
        }
    }
}
