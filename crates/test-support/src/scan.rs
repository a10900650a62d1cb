//! Searching the raw bytes of a database file, its `-wal` and its `-shm` for strings that must
//! be gone (the erasure tests' proof that nothing is left on disk).

use serde::Serialize;
use std::path::{Path, PathBuf};

/// One occurrence of a searched-for string in a database file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Found {
    /// The file it was found in (the database, its `-wal` or its `-shm`).
    pub file: PathBuf,
    /// The needle as it was asked for.
    pub needle: String,
    /// The spelling that matched (as given, lowercase or uppercase).
    pub spelling: String,
    /// Byte offset of the first occurrence.
    pub offset: usize,
}

/// Scans the raw bytes of a database file and its `-wal` and `-shm` companions for each needle
/// (as given, lowercased and uppercased; SQLite stores text as UTF-8) and reports every file
/// that still holds one. A missing companion is skipped; another read error is returned.
pub fn scan_files_for(db_path: &Path, needles: &[&str]) -> std::io::Result<Vec<Found>> {
    let mut files = vec![db_path.to_path_buf()];
    for suffix in ["-wal", "-shm"] {
        let mut name = db_path.as_os_str().to_os_string();
        name.push(suffix);
        files.push(PathBuf::from(name));
    }
    scan_each(files, needles)
}

/// Scans every regular file under `dir` (all depths; symbolic links are not followed) the way
/// `scan_files_for` scans a database: the stolen-laptop test's search of a copied home folder.
pub fn scan_tree_for(dir: &Path, needles: &[&str]) -> std::io::Result<Vec<Found>> {
    let mut files = Vec::new();
    let mut folders = vec![dir.to_path_buf()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder)? {
            let entry = entry?;
            let kind = entry.file_type()?;
            if kind.is_dir() {
                folders.push(entry.path());
            } else if kind.is_file() {
                files.push(entry.path());
            }
        }
    }
    files.sort();
    scan_each(files, needles)
}

/// Copies every folder and regular file under `from` to `to` (created), the way a thief copies a
/// live home folder: a file that vanishes while it is copied (a keyring's or a cache's temporary
/// file renamed away) is skipped, and sockets and pipes are left out. Returns the files copied.
/// `cp -a` failed the stolen-laptop test on such a file under load.
pub fn copy_tree_skipping_vanished(from: &Path, to: &Path) -> std::io::Result<usize> {
    let gone = |e: &std::io::Error| e.kind() == std::io::ErrorKind::NotFound;
    let mut copied = 0;
    let mut folders = vec![(from.to_path_buf(), to.to_path_buf())];
    while let Some((source, target)) = folders.pop() {
        std::fs::create_dir_all(&target)?;
        let entries = match std::fs::read_dir(&source) {
            Ok(entries) => entries,
            Err(e) if gone(&e) => continue,
            Err(e) => return Err(e),
        };
        for entry in entries {
            let entry = entry?;
            let kind = match entry.file_type() {
                Ok(kind) => kind,
                Err(e) if gone(&e) => continue,
                Err(e) => return Err(e),
            };
            let target = target.join(entry.file_name());
            if kind.is_dir() {
                folders.push((entry.path(), target));
            } else if kind.is_file() {
                match std::fs::copy(entry.path(), &target) {
                    Ok(_) => copied += 1,
                    Err(e) if gone(&e) => {}
                    Err(e) => return Err(e),
                }
            }
        }
    }
    Ok(copied)
}

fn scan_each(files: Vec<PathBuf>, needles: &[&str]) -> std::io::Result<Vec<Found>> {
    let mut found = Vec::new();
    for file in files {
        let bytes = match std::fs::read(&file) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => {
                return Err(std::io::Error::new(
                    e.kind(),
                    format!("reading {}: {e}", file.display()),
                ))
            }
        };
        for needle in needles.iter().filter(|n| !n.is_empty()) {
            let mut spellings = vec![
                needle.to_string(),
                needle.to_lowercase(),
                needle.to_uppercase(),
            ];
            spellings.dedup();
            for spelling in spellings {
                if let Some(offset) = find_bytes(&bytes, spelling.as_bytes()) {
                    found.push(Found {
                        file: file.clone(),
                        needle: needle.to_string(),
                        spelling,
                        offset,
                    });
                }
            }
        }
    }
    Ok(found)
}

fn find_bytes(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || needle.len() > haystack.len() {
        return None;
    }
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scan_reports_case_variants_and_skips_missing_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plain.db");
        std::fs::write(&path, b"xx ZOLTAN yy").unwrap();
        let found = scan_files_for(&path, &["Zoltan", "absent"]).unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].spelling, "ZOLTAN");
        assert_eq!(found[0].offset, 3);
    }

    #[test]
    fn the_tree_scan_looks_into_every_folder() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("a/b")).unwrap();
        std::fs::write(dir.path().join("a/b/deep.tmp"), b"..zoltan..").unwrap();
        std::fs::write(dir.path().join("top"), b"nothing").unwrap();
        let found = scan_tree_for(dir.path(), &["Zoltan"]).unwrap();
        assert_eq!(found.len(), 1);
        assert!(found[0].file.ends_with("a/b/deep.tmp"));
    }
}
