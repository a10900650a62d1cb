//! Updates served by the office: the signed desktop packages an administrator publishes with
//! `switchboard-server update publish`, kept in the store (so every instance on one PostgreSQL
//! serves them), and the manifest and package signed-in devices download (docs/SYNC.md
//! "Protocol 4").
//!
//! The server cannot check the signature (the key is the office's build setting, not the
//! server's); it refuses what is certainly wrong — not a `.deb`, too large, a signature that is
//! not Tauri's, a version that is not `X.Y.Z`, already published, or other than the one the
//! signature names — and every app checks the signature before it installs.

use crate::error::{Result, ServerError};
use crate::store::{col_int, col_text, Tx};
use base64::Engine;
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use switchboard_protocol::updates::{self as wire, UpdateManifest};

/// Packages are stored in pieces of this many bytes (base64 text, as the store holds only text
/// and integers), so a download reads one piece at a time instead of the whole package.
pub const CHUNK_BYTES: usize = 1024 * 1024;

/// What an administrator publishes.
#[derive(Clone, Copy)]
pub struct Publish<'a> {
    pub package: &'a [u8],
    /// The `.sig` file's text.
    pub signature: &'a str,
    pub version: &'a str,
    pub notes: &'a str,
}

/// Checks a package before it is stored; the error says what to fix.
pub fn check(p: &Publish<'_>) -> Result<()> {
    if wire::parse_version(p.version).is_none() {
        return Err(ServerError::Invalid(format!(
            "'{}' is not a version: give it as X.Y.Z (three numbers, as in Cargo.toml)",
            p.version
        )));
    }
    if p.package.len() > wire::MAX_ARTIFACT_BYTES {
        return Err(ServerError::PayloadTooLarge(format!(
            "the package has {} bytes; at most {} MiB are served",
            p.package.len(),
            wire::MAX_ARTIFACT_BYTES / (1024 * 1024)
        )));
    }
    if !wire::looks_like_deb(p.package) {
        return Err(ServerError::Invalid(
            "the file is not a Debian package: publish the .deb `make bundle` built \
             (target/release/bundle/deb/)"
                .into(),
        ));
    }
    if p.notes.chars().count() > wire::MAX_NOTES_CHARS {
        return Err(ServerError::Invalid(format!(
            "the notes are longer than {} characters",
            wire::MAX_NOTES_CHARS
        )));
    }
    let signed = wire::signed_version(p.signature).map_err(|e| {
        ServerError::Invalid(format!(
            "the signature file is not a Tauri signature ({e}); give the .sig `tauri signer sign` \
             wrote"
        ))
    })?;
    if signed.as_deref() != Some(p.version) {
        return Err(ServerError::Invalid(format!(
            "the signature is for version {}, not {}: sign the package with `tauri signer sign \
             --app-version {}`",
            signed.as_deref().unwrap_or("(none named)"),
            p.version,
            p.version
        )));
    }
    Ok(())
}

/// Stores a checked package; a version is published once and never replaced.
pub fn publish(tx: &mut dyn Tx, p: &Publish<'_>, now: DateTime<Utc>) -> Result<UpdateManifest> {
    check(p)?;
    let (major, minor, patch) = wire::parse_version(p.version).expect("checked");
    if tx
        .query_opt(
            "SELECT 1 FROM update_release WHERE version = ?1",
            &[p.version.into()],
        )?
        .is_some()
    {
        return Err(ServerError::Conflict(format!(
            "version {} is already published; publish a newer version instead",
            p.version
        )));
    }
    let chunks = p.package.chunks(CHUNK_BYTES);
    let count = chunks.len() as i64;
    for (i, chunk) in chunks.enumerate() {
        tx.exec(
            "INSERT INTO update_chunk (version, idx, data) VALUES (?1, ?2, ?3)",
            &[
                p.version.into(),
                (i as i64).into(),
                base64::engine::general_purpose::STANDARD
                    .encode(chunk)
                    .into(),
            ],
        )?;
    }
    let sha256 = hex::encode(Sha256::digest(p.package));
    tx.exec(
        "INSERT INTO update_release (version, major, minor, patch, notes, signature, size, \
         sha256, chunks, published_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        &[
            p.version.into(),
            (major as i64).into(),
            (minor as i64).into(),
            (patch as i64).into(),
            p.notes.into(),
            p.signature.trim().into(),
            (p.package.len() as i64).into(),
            sha256.into(),
            count.into(),
            crate::time_text(now).into(),
        ],
    )?;
    Ok(latest_where(tx, Some(p.version))?.expect("just stored"))
}

/// The newest published update, if any.
pub fn latest(tx: &mut dyn Tx) -> Result<Option<UpdateManifest>> {
    latest_where(tx, None)
}

fn latest_where(tx: &mut dyn Tx, version: Option<&str>) -> Result<Option<UpdateManifest>> {
    const COLUMNS: &str = "SELECT version, notes, signature, size, sha256, published_at \
                           FROM update_release";
    let row = match version {
        Some(v) => tx.query_opt(&format!("{COLUMNS} WHERE version = ?1"), &[v.into()])?,
        None => tx.query_opt(
            &format!("{COLUMNS} ORDER BY major DESC, minor DESC, patch DESC LIMIT 1"),
            &[],
        )?,
    };
    Ok(row.map(|r| {
        let version = col_text(&r, 0).unwrap_or_default();
        UpdateManifest {
            url: artifact_path(&version),
            version,
            notes: col_text(&r, 1).unwrap_or_default(),
            signature: col_text(&r, 2).unwrap_or_default(),
            size: col_int(&r, 3).unwrap_or(0) as u64,
            sha256: col_text(&r, 4).unwrap_or_default(),
            pub_date: col_text(&r, 5).unwrap_or_default(),
        }
    }))
}

/// Every published version, newest first, for `update list`.
pub fn list(tx: &mut dyn Tx) -> Result<Vec<UpdateManifest>> {
    let versions = tx.query(
        "SELECT version FROM update_release ORDER BY major DESC, minor DESC, patch DESC",
        &[],
    )?;
    let mut out = Vec::new();
    for v in versions {
        let version = col_text(&v, 0).unwrap_or_default();
        out.extend(latest_where(tx, Some(&version))?);
    }
    Ok(out)
}

/// Where a version's package is served.
pub fn artifact_path(version: &str) -> String {
    format!("/v1/updates/{version}/artifact")
}

/// A published package's size in bytes and number of pieces.
pub fn package_shape(tx: &mut dyn Tx, version: &str) -> Result<(u64, i64)> {
    let row = tx
        .query_opt(
            "SELECT size, chunks FROM update_release WHERE version = ?1",
            &[version.into()],
        )?
        .ok_or_else(|| {
            ServerError::NotFound(format!("no update {version} is published on this server"))
        })?;
    Ok((
        col_int(&row, 0).unwrap_or(0) as u64,
        col_int(&row, 1).unwrap_or(0),
    ))
}

/// Piece `idx` of a published package.
pub fn chunk(tx: &mut dyn Tx, version: &str, idx: i64) -> Result<Vec<u8>> {
    let row = tx
        .query_opt(
            "SELECT data FROM update_chunk WHERE version = ?1 AND idx = ?2",
            &[version.into(), idx.into()],
        )?
        .ok_or_else(|| ServerError::Internal(format!("update {version} misses piece {idx}")))?;
    base64::engine::general_purpose::STANDARD
        .decode(col_text(&row, 0).unwrap_or_default())
        .map_err(|e| ServerError::Internal(format!("update {version} piece {idx}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{read, sqlite::SqliteStore, write};

    const SIG_FOR_0_2_0: &str = "dW50cnVzdGVkIGNvbW1lbnQ6IHNpZ25hdHVyZSBmcm9tIHRhdXJpIHNlY3JldCBrZXkKUlVUcEVTeUlDcUt5SDhpSTRtZWtCaFJ4eFJNa1o0WGRsNVdDNEJYcVBLdEVGc3dGb0RNUmlWcWk3eVV3M1JaVW9mbHhqVFhnWkI5c2dLdHo3bjNEMTlDcVFhamxpbVVGWEFNPQp0cnVzdGVkIGNvbW1lbnQ6IHRpbWVzdGFtcDoxNzk2NDg0NTY2CWZpbGU6Zi5kZWIJdmVyc2lvbjowLjIuMAp0SkJSSjFyYzBDd1hqOHRBd0tuYlpFZ3d0RGE3YjNuenZyQTZ0eXdDMzhtMmV4QkRpcmRSM0hPN3NGZXIwY3duTSs3djdVUlI2QXpFMlkySjl2ZnJEUT09Cg==";

    fn deb(len: usize) -> Vec<u8> {
        let mut d = b"!<arch>\ndebian-binary   ".to_vec();
        d.extend((0..len).map(|i| (i % 251) as u8));
        d
    }

    #[test]
    fn a_package_round_trips_in_pieces_and_the_newest_is_latest() {
        let dir = tempfile::tempdir().unwrap();
        let keys = std::sync::Arc::new(crate::sealing::Keyring::generate());
        let store = SqliteStore::open(&dir.path().join("central.db"), keys).unwrap();
        let package = deb(2 * CHUNK_BYTES + 17);
        let now = "2026-12-05T15:00:00Z".parse().unwrap();
        let m = write(&store, |tx| {
            publish(
                tx,
                &Publish {
                    package: &package,
                    signature: SIG_FOR_0_2_0,
                    version: "0.2.0",
                    notes: "Faster queue",
                },
                now,
            )
        })
        .unwrap();
        assert_eq!(m.url, "/v1/updates/0.2.0/artifact");
        assert_eq!(m.size, package.len() as u64);
        let (size, pieces) = read(&store, |tx| package_shape(tx, "0.2.0")).unwrap();
        assert_eq!((size, pieces), (package.len() as u64, 3));
        let mut back = Vec::new();
        for i in 0..pieces {
            back.extend(read(&store, |tx| chunk(tx, "0.2.0", i)).unwrap());
        }
        assert_eq!(back, package);
        assert_eq!(read(&store, latest).unwrap(), Some(m));
        let again = write(&store, |tx| {
            publish(
                tx,
                &Publish {
                    package: &package,
                    signature: SIG_FOR_0_2_0,
                    version: "0.2.0",
                    notes: "",
                },
                now,
            )
        });
        assert!(matches!(again, Err(ServerError::Conflict(_))), "{again:?}");
        assert!(matches!(
            read(&store, |tx| package_shape(tx, "9.9.9")),
            Err(ServerError::NotFound(_))
        ));
    }

    #[test]
    fn wrong_packages_are_refused_before_they_are_stored() {
        let package = deb(10);
        let ok = Publish {
            package: &package,
            signature: SIG_FOR_0_2_0,
            version: "0.2.0",
            notes: "",
        };
        assert!(check(&ok).is_ok());
        let refused = |p: Publish<'_>| check(&p).unwrap_err().to_string();
        assert!(refused(Publish {
            version: "0.2",
            ..ok
        })
        .contains("X.Y.Z"));
        assert!(refused(Publish {
            version: "0.3.0",
            ..ok
        })
        .contains("--app-version 0.3.0"));
        assert!(refused(Publish {
            signature: "garbage",
            ..ok
        })
        .contains("not a Tauri signature"));
        assert!(refused(Publish {
            package: b"\x7fELF",
            ..ok
        })
        .contains("not a Debian package"));
        let huge = vec![0u8; wire::MAX_ARTIFACT_BYTES + 1];
        assert!(matches!(
            check(&Publish {
                package: &huge,
                ..ok
            }),
            Err(ServerError::PayloadTooLarge(_))
        ));
    }
}
