//! The core's shape, checked on its source. The core is in parts (`PARTS`, lowest first) and a
//! part imports only parts below it; no two source files import each other round a cycle (a
//! lower module calling up into one that depends on it is how a refactor gets stuck); and no
//! source file outside tests is over 800 lines (long files are split by what their parts are).
//!
//! Imports are read from the library code of every file (comments and test modules left out):
//! each `crate::…`, `super::…` and `self::…` path, and each path starting with one of the file's
//! own child modules, resolved to the file that holds it — through `lib.rs`'s re-exports of the
//! old root paths and a part index's `pub use x::*`.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use switchboard_test_support::source::{is_test_file, library_code, rust_files};

/// The core's parts, lowest first: a part imports only parts before it in this list (`error.rs`
/// sits below them all). `src/lib.rs`'s doc lists the same parts in the same order.
const PARTS: [&str; 11] = [
    "store",
    "people",
    "compliance",
    "intake",
    "outreach",
    "review",
    "campaigns",
    "partners",
    "privacy",
    "replica",
    "demo",
];

/// The parts kept as they were (a module with its own code); every other part is a folder whose
/// `mod.rs` is an index.
const UNINDEXED_PARTS: [&str; 2] = ["replica", "demo"];

/// Longest a non-test source file in crates/core/src may be.
const MAX_LINES: usize = 800;

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Rust source as tokens: identifiers, `::`, and every other non-blank character on its own.
fn tokens(code: &str) -> Vec<String> {
    let chars: Vec<char> = code.chars().collect();
    let word = |c: char| c.is_alphanumeric() || c == '_';
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let start = i;
        if word(chars[i]) {
            while i < chars.len() && word(chars[i]) {
                i += 1;
            }
        } else if chars[i] == ':' && chars.get(i + 1) == Some(&':') {
            i += 2;
        } else {
            i += 1;
            if chars[start].is_whitespace() {
                continue;
            }
        }
        out.push(chars[start..i].iter().collect());
    }
    out
}

fn is_ident(token: &str) -> bool {
    token
        .chars()
        .next()
        .is_some_and(|c| c.is_alphabetic() || c == '_')
}

/// The paths of the use tree (or plain path) starting at `toks[*i]`, each with the name it
/// brings in: `a::{b, c::{self, D as E}}` gives `a::b` (b), `a::c` (c), `a::c::D` (E); a glob
/// ends in `*`.
fn use_tree(toks: &[String], i: &mut usize, prefix: Vec<String>) -> Vec<(Vec<String>, String)> {
    let mut out = Vec::new();
    let mut path = prefix;
    while let Some(token) = toks.get(*i) {
        *i += 1;
        let next_is = |i: usize, t: &str| toks.get(i).is_some_and(|n| n == t);
        match token.as_str() {
            "{" => {
                while toks.get(*i).is_some_and(|t| t != "}") {
                    let before = *i;
                    out.extend(use_tree(toks, i, path.clone()));
                    if next_is(*i, ",") || *i == before {
                        *i += 1;
                    }
                }
                *i += 1;
                return out;
            }
            "*" => {
                path.push("*".into());
                out.push((path, "*".into()));
                return out;
            }
            name if is_ident(name) => {
                if next_is(*i, "::") {
                    path.push(name.into());
                    *i += 1;
                    continue;
                }
                if name != "self" {
                    path.push(name.into());
                }
                let mut alias = path.last().cloned().unwrap_or_default();
                if next_is(*i, "as") {
                    alias = toks.get(*i + 1).cloned().unwrap_or_default();
                    *i += 2;
                }
                out.push((path, alias));
                return out;
            }
            _ => {
                // Not part of the path (`Foo::<T>`, `"…"`): the path read so far is the reference.
                *i -= 1;
                if !path.is_empty() {
                    let name = path.last().cloned().unwrap_or_default();
                    out.push((path, name));
                }
                return out;
            }
        }
    }
    out
}

/// One module of the library: its file, its child modules, and — for an index (`lib.rs`, a
/// part's `mod.rs`: nothing but `pub mod` and `pub use`) — what it re-exports by name and by glob.
struct Module {
    file: String,
    children: BTreeMap<String, Vec<String>>,
    index: bool,
    named: BTreeMap<String, Vec<String>>,
    globs: Vec<Vec<String>>,
}

/// Every module of the library by its path (`["people", "leads"]`), read from `lib.rs` down
/// through the `mod` declarations; test modules are left out.
fn module_tree(src: &Path) -> BTreeMap<Vec<String>, Module> {
    fn load(src: &Path, path: Vec<String>, file: &Path, tree: &mut BTreeMap<Vec<String>, Module>) {
        let rel = file.strip_prefix(src).unwrap();
        let code = library_code(&fs::read_to_string(file).unwrap());
        let toks = tokens(&code);
        let dir = if rel.ends_with("lib.rs") || rel.ends_with("mod.rs") {
            file.parent().unwrap().to_path_buf()
        } else {
            file.with_extension("")
        };
        let mut children = BTreeMap::new();
        for at in 0..toks.len() {
            let declared = toks[at] == "mod"
                && toks.get(at + 2).is_some_and(|t| t == ";")
                && toks.get(at + 1).is_some_and(|t| is_ident(t));
            if !declared {
                continue;
            }
            let name = &toks[at + 1];
            let flat = dir.join(format!("{name}.rs"));
            let child = if flat.exists() {
                flat
            } else {
                dir.join(name).join("mod.rs")
            };
            assert!(
                child.exists(),
                "{} declares mod {name}: no file",
                rel.display()
            );
            if is_test_file(child.strip_prefix(src).unwrap()) {
                continue;
            }
            let mut child_path = path.clone();
            child_path.push(name.clone());
            children.insert(name.clone(), child_path.clone());
            load(src, child_path, &child, tree);
        }
        let statements: Vec<&str> = code
            .split(';')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect();
        let index = statements
            .iter()
            .all(|s| s.starts_with("pub mod ") || s.starts_with("pub use "));
        let (mut named, mut globs) = (BTreeMap::new(), Vec::new());
        if index {
            for statement in statements.iter().filter(|s| s.starts_with("pub use ")) {
                let toks = tokens(&statement["pub use ".len()..]);
                for (mut target, name) in use_tree(&toks, &mut 0, Vec::new()) {
                    if name == "*" {
                        target.pop();
                        globs.push(target);
                    } else {
                        named.insert(name, target);
                    }
                }
            }
        }
        let file = rel.to_str().unwrap().to_string();
        tree.insert(
            path,
            Module {
                file,
                children,
                index,
                named,
                globs,
            },
        );
    }
    let mut tree = BTreeMap::new();
    load(src, Vec::new(), &src.join("lib.rs"), &mut tree);
    tree
}

/// Where a path used in a module leads.
#[derive(Debug, PartialEq)]
enum Target {
    /// The file of the module that holds the item (or is the module) the path names.
    File(String),
    /// Another crate (`std`, `switchboard_domain` through `crate::clock`, …).
    Outside,
    /// Nothing: an index does not export that name.
    Nowhere,
}

/// Where `path`, used in module `from`, leads: `crate::`, `super::` and `self::` paths, and paths
/// starting with one of `from`'s child modules.
fn resolve(tree: &BTreeMap<Vec<String>, Module>, from: &[String], path: &[String]) -> Target {
    let mut module = from.to_vec();
    let mut rest = path;
    match path.first().map(String::as_str) {
        Some("crate") => {
            module.clear();
            rest = &path[1..];
        }
        Some("self") => rest = &path[1..],
        Some("super") => {
            while rest.first().is_some_and(|s| s == "super") {
                module.pop();
                rest = &rest[1..];
            }
        }
        Some(first) if tree[&module].children.contains_key(first) => {}
        _ => return Target::Outside,
    }
    for (at, segment) in rest.iter().enumerate() {
        let here = &tree[&module];
        if let Some(child) = here.children.get(segment) {
            module = child.clone();
            continue;
        }
        if !here.index || segment == "*" {
            break; // an item of this module
        }
        let through = if let Some(target) = here.named.get(segment) {
            [target.as_slice(), &rest[at + 1..]].concat()
        } else if let Some(glob) = here.globs.first() {
            [glob.as_slice(), &rest[at..]].concat()
        } else {
            return Target::Nowhere;
        };
        return resolve(tree, &module, &through);
    }
    Target::File(tree[&module].file.clone())
}

/// Who imports whom: for every library file, the files its imports lead to, each with the first
/// path that leads there (`crate::leads::parse_time`). Panics naming any path that leads nowhere.
fn file_graph() -> BTreeMap<String, BTreeMap<String, String>> {
    let src = src();
    let tree = module_tree(&src);
    let mut graph = BTreeMap::new();
    let mut nowhere = Vec::new();
    for (module, node) in &tree {
        let code = library_code(&fs::read_to_string(src.join(&node.file)).unwrap());
        let toks = tokens(&code);
        let mut edges: BTreeMap<String, String> = BTreeMap::new();
        for at in 0..toks.len() {
            let after = |t: &str| at > 0 && toks[at - 1] == t;
            let starts = matches!(toks[at].as_str(), "crate" | "super" | "self")
                || node.children.contains_key(&toks[at]);
            if !starts || after("::") || after("$") || after(".") {
                continue;
            }
            if toks.get(at + 1).is_none_or(|t| t != "::") {
                continue;
            }
            for (path, _) in use_tree(&toks, &mut at.clone(), Vec::new()) {
                match resolve(&tree, module, &path) {
                    Target::File(file) if file != node.file => {
                        edges.entry(file).or_insert_with(|| path.join("::"));
                    }
                    Target::Nowhere => nowhere.push(format!("{}: {}", node.file, path.join("::"))),
                    _ => {}
                }
            }
        }
        graph.insert(node.file.clone(), edges);
    }
    assert!(nowhere.is_empty(), "paths that lead nowhere: {nowhere:?}");
    graph
}

/// Whether `file` is part of the module `ancestor` is the file of (`intake/import/csv.rs` of
/// `intake/import/mod.rs`): a file split out of a module uses the module's items through `super::`
/// as the module's own code does, so that edge is not an import between modules.
fn is_within(file: &str, ancestor: &str) -> bool {
    let dir = ancestor
        .strip_suffix("mod.rs")
        .map(str::to_string)
        .unwrap_or_else(|| format!("{}/", ancestor.trim_end_matches(".rs")));
    file != ancestor && file.starts_with(&dir)
}

/// The rank of a file's part in `PARTS` (1 = lowest), 0 for `error.rs` below every part, `None`
/// for `lib.rs` (the index of everything).
fn part_rank(file: &str) -> Option<usize> {
    let top = file.split('/').next().unwrap().trim_end_matches(".rs");
    if top == "error" {
        return Some(0);
    }
    PARTS.iter().position(|p| *p == top).map(|i| i + 1)
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
fn core_files_import_each_other_without_a_cycle() {
    let graph = file_graph();
    assert!(
        graph.len() > 50 && graph.values().map(BTreeMap::len).sum::<usize>() > 150,
        "the file graph was not read: {graph:?}"
    );
    let imports: BTreeMap<String, BTreeSet<String>> = graph
        .iter()
        .map(|(file, edges)| {
            let targets = edges.keys().filter(|to| !is_within(file, to));
            (file.clone(), targets.cloned().collect())
        })
        .collect();
    if let Some(cycle) = find_cycle(&imports) {
        panic!(
            "crates/core/src has an import cycle: {} (move what the lower module needs below \
             both, or pass it in)",
            cycle.join(" -> ")
        );
    }
}

#[test]
fn each_part_imports_only_the_parts_below_it() {
    let graph = file_graph();
    let mut upward = Vec::new();
    for (file, edges) in &graph {
        let Some(rank) = part_rank(file) else {
            continue;
        };
        for (to, path) in edges {
            if part_rank(to).is_some_and(|to_rank| to_rank > rank) {
                upward.push(format!("src/{file} imports src/{to} (`{path}`)"));
            }
        }
    }
    assert!(
        upward.is_empty(),
        "a part imports a part above it in PARTS ({}): {upward:#?}",
        PARTS.join(" < ")
    );
}

#[test]
fn the_parts_are_the_source_folders_in_the_order_lib_rs_gives() {
    let src = src();
    for entry in fs::read_dir(&src).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        let module = name.trim_end_matches(".rs");
        assert!(
            ["lib", "error", "bin"].contains(&module)
                || PARTS.contains(&module)
                || is_test_file(Path::new(&name)),
            "src/{name} is in no part: put it in one of {PARTS:?}"
        );
    }
    let lib = fs::read_to_string(src.join("lib.rs")).unwrap();
    let listed: Vec<&str> = lib
        .lines()
        .filter_map(|l| {
            l.strip_prefix("//! ")?
                .split_once(". `")?
                .1
                .split('`')
                .next()
        })
        .collect();
    assert_eq!(
        listed, PARTS,
        "lib.rs's doc lists the parts in another order"
    );
    let tree = module_tree(&src);
    for part in PARTS.iter().filter(|p| !UNINDEXED_PARTS.contains(p)) {
        let module = &tree[&vec![part.to_string()]];
        assert!(
            module.file == format!("{part}/mod.rs") && module.index,
            "src/{part}/mod.rs should be an index: a //! doc, `pub mod` and `pub use` lines"
        );
    }
}

#[test]
fn the_checks_read_use_trees_resolve_re_exports_and_see_a_cycle() {
    let toks = tokens("use crate::{a::{self, B as C}, d::*, e};\nlet x = super::f::g::<T>();");
    let paths = |from: usize| -> Vec<(String, String)> {
        use_tree(&toks, &mut from.clone(), Vec::new())
            .into_iter()
            .map(|(p, name)| (p.join("::"), name))
            .collect()
    };
    let pair = |p: &str, n: &str| (p.to_string(), n.to_string());
    assert_eq!(
        paths(1),
        [
            pair("crate::a", "a"),
            pair("crate::a::B", "C"),
            pair("crate::d::*", "*"),
            pair("crate::e", "e")
        ]
    );
    let at = toks.iter().position(|t| t == "super").unwrap();
    assert_eq!(paths(at), [pair("super::f::g", "g")]);
    assert_eq!(
        library_code(
            "use crate::x;\n#[cfg(test)]\nmod tests {\n    use crate::y;\n}\n// crate::z\n"
        ),
        "use crate::x;\n\n"
    );
    assert_eq!(
        library_code("pub mod a;\n#[cfg(test)]\npub(crate) mod fixtures;\npub use a::b;\n"),
        "pub mod a;\npub use a::b;\n"
    );

    // The real tree: an old root path goes through lib.rs, an index's glob to the file behind it.
    let tree = module_tree(&src());
    let file = |p: &str, from: &[&str]| {
        let from: Vec<String> = from.iter().map(|s| s.to_string()).collect();
        let path: Vec<String> = p.split("::").map(String::from).collect();
        resolve(&tree, &from, &path)
    };
    let at = |f: &str| Target::File(f.to_string());
    assert_eq!(file("crate::leads::get", &[]), at("people/leads.rs"));
    assert_eq!(
        file("crate::Store", &["people", "leads"]),
        at("store/database.rs")
    );
    assert_eq!(file("crate::store::Store", &[]), at("store/database.rs"));
    assert_eq!(file("crate::people::leads", &[]), at("people/leads.rs"));
    assert_eq!(
        file("super::columns::Column", &["intake", "import", "csv"]),
        at("intake/import/columns.rs")
    );
    assert_eq!(file("crate::clock::new_id", &[]), Target::Outside);
    assert_eq!(file("crate::people::nothing", &[]), Target::Nowhere);
    assert!(is_within("intake/import/csv.rs", "intake/import/mod.rs"));
    assert!(is_within(
        "intake/submission/bulk.rs",
        "intake/submission.rs"
    ));
    assert!(!is_within("intake/submission.rs", "intake/import/mod.rs"));
    assert_eq!(part_rank("store/database.rs"), Some(1));
    assert_eq!(part_rank("demo.rs"), Some(11));
    assert_eq!(part_rank("lib.rs"), None);

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
