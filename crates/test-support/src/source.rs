//! Reading the workspace's own Rust source, for the tests that check its shape: the core's module
//! graph and table owners, and the workspace's file-length rule.

use std::fs;
use std::path::{Path, PathBuf};

/// Every `.rs` file under `dir`, sorted.
pub fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut entries: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    let mut out = Vec::new();
    for path in entries {
        if path.is_dir() {
            out.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out
}

/// A file only tests compile, by its path under `src`: a module's `tests.rs`, the core's test
/// `fixtures.rs`, or anything under a `tests` folder.
pub fn is_test_file(rel: &Path) -> bool {
    rel.file_name()
        .is_some_and(|n| n == "tests.rs" || n == "fixtures.rs")
        || rel.components().any(|c| c.as_os_str() == "tests")
}

/// What the library itself compiles of a source file: without line comments, inline
/// `#[cfg(test)] mod … { … }` blocks and `#[cfg(test)] mod …;` declarations.
pub fn library_code(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let next_declares_module = |opens_block: bool| {
            lines.get(i + 1).is_some_and(|next| {
                let next = next.trim();
                let next = next
                    .strip_prefix("pub(crate) ")
                    .or_else(|| next.strip_prefix("pub "))
                    .unwrap_or(next);
                next.starts_with("mod ")
                    && if opens_block {
                        next.ends_with('{')
                    } else {
                        next.ends_with(';')
                    }
            })
        };
        let test_only = line.trim() == "#[cfg(test)]";
        if test_only && next_declares_module(true) {
            let mut depth = 0i64;
            i += 1;
            while i < lines.len() {
                depth += lines[i].matches('{').count() as i64;
                depth -= lines[i].matches('}').count() as i64;
                i += 1;
                if depth <= 0 {
                    break;
                }
            }
            continue;
        }
        if test_only && next_declares_module(false) {
            i += 2;
            continue;
        }
        let code = match line.find("//") {
            // `//` inside a string (a URL) is not a comment.
            Some(at) if !line[..at].contains('"') => &line[..at],
            _ => line,
        };
        out.push_str(code);
        out.push('\n');
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn library_code_leaves_out_comments_and_test_modules_but_keeps_urls() {
        let text = "use a; // why\n#[cfg(test)]\nmod tests;\n#[cfg(test)]\npub(crate) mod t {\n    fn x() { }\n}\nconst U: &str = \"https://x\"; // note\nfn f() {}\n";
        assert_eq!(
            library_code(text),
            "use a; \nconst U: &str = \"https://x\"; // note\nfn f() {}\n"
        );
    }

    #[test]
    fn test_files_are_named_or_foldered_as_tests() {
        assert!(is_test_file(Path::new("privacy/erase/tests.rs")));
        assert!(is_test_file(Path::new("fixtures.rs")));
        assert!(is_test_file(Path::new("tests/x.rs")));
        assert!(!is_test_file(Path::new("privacy/erase.rs")));
    }
}
