//! The core's shape, checked on its source: no import cycle between its top-level modules (a
//! lower module calling up into one that depends on it is how a refactor gets stuck), and no
//! source file over 800 lines outside tests (long files are split by what their parts are).

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// Longest a non-test source file in crates/core/src may be.
const MAX_LINES: usize = 800;

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every `.rs` file under `dir`, sorted.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut entries: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            out.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out
}

/// A file that only tests compile: `tests.rs` (a module's `#[cfg(test)] mod tests;`) or anything
/// under a `tests` folder.
fn is_test_file(rel: &Path) -> bool {
    rel.file_name().is_some_and(|n| n == "tests.rs")
        || rel.components().any(|c| c.as_os_str() == "tests")
}

/// The top-level modules of the library: `src/x.rs` and `src/x/`, without `lib.rs` and `bin/`.
fn top_modules(src: &Path) -> BTreeSet<String> {
    fs::read_dir(src)
        .unwrap()
        .filter_map(|e| {
            let path = e.unwrap().path();
            let name = path.file_stem()?.to_str()?.to_string();
            let module = if path.is_dir() {
                name != "bin"
            } else {
                path.extension().is_some_and(|e| e == "rs") && name != "lib"
            };
            module.then_some(name)
        })
        .collect()
}

/// The source without comments and without inline `#[cfg(test)] mod … { … }` blocks: what the
/// library itself compiles.
fn library_code(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let opens_test_module = line.trim() == "#[cfg(test)]"
            && lines.get(i + 1).is_some_and(|next| {
                let next = next.trim_start().trim_start_matches("pub ");
                next.starts_with("mod ") && next.trim_end().ends_with('{')
            });
        if opens_test_module {
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
        out.push_str(line.split("//").next().unwrap_or(""));
        out.push('\n');
        i += 1;
    }
    out
}

/// Names `code` reaches as `crate::name…` or inside `crate::{name, …}`.
fn crate_references(code: &str) -> BTreeSet<String> {
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    let mut names = BTreeSet::new();
    for (at, _) in code.match_indices("crate::") {
        let rest = &code[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            // Top-level items of the group: split on commas outside nested braces.
            let mut depth = 0;
            let mut item_start = true;
            for (i, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => item_start = true,
                    c if item_start && !c.is_whitespace() => {
                        names.insert(ident(&group[i..]));
                        item_start = false;
                    }
                    _ => {}
                }
            }
        } else {
            names.insert(ident(rest));
        }
    }
    names
}

/// Which top-level module uses which, from the library code of every file.
fn module_graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = src();
    let modules = top_modules(&src);
    let mut graph: BTreeMap<String, BTreeSet<String>> = modules
        .iter()
        .map(|m| (m.clone(), BTreeSet::new()))
        .collect();
    for path in rust_files(&src) {
        let rel = path.strip_prefix(&src).unwrap();
        let first = rel
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_str()
            .unwrap();
        let owner = first.trim_end_matches(".rs").to_string();
        if !modules.contains(&owner) || is_test_file(rel) {
            continue;
        }
        let code = library_code(&fs::read_to_string(&path).unwrap());
        for used in crate_references(&code) {
            if used != owner && modules.contains(&used) {
                graph.get_mut(&owner).unwrap().insert(used);
            }
        }
    }
    graph
}

/// A cycle in `graph` as the path of modules around it, if there is one.
fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        Open,
        Done,
    }
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        marks: &mut BTreeMap<String, Mark>,
        path: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        marks.insert(node.to_string(), Mark::Open);
        path.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            match marks.get(next) {
                Some(Mark::Open) => {
                    let start = path.iter().position(|m| m == next).unwrap();
                    let mut cycle = path[start..].to_vec();
                    cycle.push(next.clone());
                    return Some(cycle);
                }
                Some(Mark::Done) => {}
                None => {
                    if let Some(cycle) = visit(next, graph, marks, path) {
                        return Some(cycle);
                    }
                }
            }
        }
        path.pop();
        marks.insert(node.to_string(), Mark::Done);
        None
    }
    let mut marks = BTreeMap::new();
    for node in graph.keys() {
        if !marks.contains_key(node) {
            if let Some(cycle) = visit(node, graph, &mut marks, &mut Vec::new()) {
                return Some(cycle);
            }
        }
    }
    None
}

#[test]
fn core_modules_import_each_other_without_a_cycle() {
    let graph = module_graph();
    assert!(
        graph.len() > 20 && graph.values().map(BTreeSet::len).sum::<usize>() > 50,
        "the module graph was not read: {graph:?}"
    );
    if let Some(cycle) = find_cycle(&graph) {
        panic!(
            "crates/core has a module import cycle: {} (move what the lower module needs below \
             both, or pass it in)",
            cycle.join(" -> ")
        );
    }
}

#[test]
fn the_cycle_check_sees_a_cycle_and_group_imports() {
    let refs = crate_references("use crate::{a::{B, C}, d, e::F};\nlet x = crate::g::h();");
    assert_eq!(refs, ["a", "d", "e", "g"].map(String::from).into());
    assert_eq!(
        library_code(
            "use crate::x;\n#[cfg(test)]\nmod tests {\n    use crate::y;\n}\n// crate::z\n"
        ),
        "use crate::x;\n\n"
    );
    let graph: BTreeMap<String, BTreeSet<String>> = [
        ("a", vec!["b"]),
        ("b", vec!["c"]),
        ("c", vec!["a"]),
        ("d", vec![]),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.into_iter().map(String::from).collect()))
    .collect();
    assert_eq!(
        find_cycle(&graph).unwrap(),
        ["a", "b", "c", "a"].map(String::from)
    );
}

#[test]
fn no_core_source_file_outside_tests_is_over_800_lines() {
    let src = src();
    let files = rust_files(&src);
    assert!(files.len() > 20, "no sources read under {}", src.display());
    let long: Vec<String> = files
        .iter()
        .filter(|path| !is_test_file(path.strip_prefix(&src).unwrap()))
        .filter_map(|path| {
            let lines = fs::read_to_string(path).unwrap().lines().count();
            (lines > MAX_LINES).then(|| format!("{} ({lines} lines)", path.display()))
        })
        .collect();
    assert!(
        long.is_empty(),
        "split these by what their parts are (tests go into x/tests.rs): {long:?}"
    );
}
