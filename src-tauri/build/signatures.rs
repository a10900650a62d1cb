//! Checks each command's TypeScript signature in `commands.txt` against its Rust function: the
//! parameter names (camelCase, as Tauri sends them) and the ts-rs names of the parameter and
//! result types. The window's arguments are only ever checked here, so a signature that drifts
//! from the function fails the build instead of failing at run time in the window.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use syn::{FnArg, GenericArgument, Item, PathArguments, ReturnType, Type, UseTree};

/// What `commands.txt` says of one command, as the check needs it.
pub struct Declared<'a> {
    /// The Rust path, e.g. `commands::letters::contact_open`.
    pub path: &'a str,
    /// `(name, optional, TypeScript type)` in order.
    pub args: &'a [(String, bool, String)],
    pub result: &'a str,
}

/// The parameters Tauri fills in itself; the window never sends them.
const INJECTED: [&str; 6] = [
    "State",
    "AppHandle",
    "Window",
    "WebviewWindow",
    "Webview",
    "Invoke",
];

/// Every mismatch between the declarations and the Rust functions under `src` (the shell's
/// `src` folder), one line each naming the command; `generated` holds the ts-rs types.
pub fn mismatches(commands: &[Declared<'_>], src: &Path, generated: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut files: BTreeMap<PathBuf, Result<syn::File, String>> = BTreeMap::new();
    for command in commands {
        let (module, name) = command.path.rsplit_once("::").unwrap_or(("", command.path));
        let file = module_file(src, module);
        let parsed = files.entry(file.clone()).or_insert_with(|| {
            let text = std::fs::read_to_string(&file)
                .map_err(|e| format!("reading {}: {e}", file.display()))?;
            syn::parse_file(&text).map_err(|e| format!("parsing {}: {e}", file.display()))
        });
        let problems = match parsed {
            Ok(parsed) => check(command, name, parsed, generated),
            Err(e) => vec![e.clone()],
        };
        found.extend(
            problems
                .into_iter()
                .map(|p| format!("`{}`: {p}", command.path)),
        );
    }
    found
}

/// `commands::letters` → `src/commands/letters.rs` (or `…/letters/mod.rs`).
fn module_file(src: &Path, module: &str) -> PathBuf {
    let relative: PathBuf = module.split("::").collect();
    let file = src.join(&relative).with_extension("rs");
    if file.exists() {
        file
    } else {
        src.join(relative).join("mod.rs")
    }
}

fn check(command: &Declared<'_>, name: &str, file: &syn::File, generated: &Path) -> Vec<String> {
    let Some(function) = file.items.iter().find_map(|item| match item {
        Item::Fn(f) if f.sig.ident == name => Some(f),
        _ => None,
    }) else {
        return vec![format!("no function `{name}` in its module")];
    };
    let aliases = aliases(file);
    let mut problems = Vec::new();
    let sent: Vec<(String, &Type)> = function
        .sig
        .inputs
        .iter()
        .filter_map(|input| match input {
            FnArg::Typed(t) => Some(t),
            FnArg::Receiver(_) => None,
        })
        .filter(|t| !INJECTED.contains(&last_ident(&t.ty).as_str()))
        .map(|t| (camel_case(&quote_pat(&t.pat)), t.ty.as_ref()))
        .collect();
    if sent.len() != command.args.len() {
        problems.push(format!(
            "commands.txt declares {} arguments, the function takes {} ({})",
            command.args.len(),
            sent.len(),
            sent.iter()
                .map(|(n, _)| n.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    for (i, ((rust_name, ty), (ts_name, optional, ts_type))) in
        sent.iter().zip(command.args).enumerate()
    {
        if rust_name != ts_name {
            problems.push(format!(
                "argument {} is `{ts_name}` in commands.txt but `{rust_name}` in Rust",
                i + 1
            ));
        }
        let expected = match (optional, option_inner(ty)) {
            (true, Some(inner)) => ts_of(inner, &aliases),
            (true, None) => {
                problems.push(format!(
                    "argument `{ts_name}` is optional in commands.txt but not an Option in Rust"
                ));
                continue;
            }
            (false, _) => ts_of(ty, &aliases),
        };
        if let Err(why) = same(ts_type, &expected, generated) {
            problems.push(format!(
                "argument `{ts_name}` is `{ts_type}` in commands.txt \
                 but the Rust type reads as `{expected}`{why}"
            ));
        }
    }
    let result = match &function.sig.output {
        ReturnType::Default => "void".to_string(),
        ReturnType::Type(_, ty) => ts_of(ok_type(ty), &aliases),
    };
    if let Err(why) = same(command.result, &result, generated) {
        problems.push(format!(
            "the result is `{}` in commands.txt but the Rust type reads as `{result}`{why}",
            command.result
        ));
    }
    problems
}

/// Whether the declared TypeScript type is the one the Rust type maps to. A union of string
/// literals may stand for a ts-rs enum when each literal is one of its values (a narrower offer
/// of the same type, like `'phone' | 'email'` for `Channel`).
fn same(declared: &str, expected: &str, generated: &Path) -> Result<(), String> {
    let squeeze = |t: &str| t.split_whitespace().collect::<String>();
    if squeeze(declared) == squeeze(expected) {
        return Ok(());
    }
    let literals: Vec<&str> = declared.split('|').map(str::trim).collect();
    let quoted = |l: &&str| l.len() > 1 && l.starts_with('\'') && l.ends_with('\'');
    if literals.iter().all(quoted) {
        let file = generated.join(format!("{expected}.ts"));
        let values = std::fs::read_to_string(&file).unwrap_or_default();
        let missing: Vec<&str> = literals
            .iter()
            .map(|l| &l[1..l.len() - 1])
            .filter(|v| !values.contains(&format!("\"{v}\"")))
            .collect();
        if missing.is_empty() && !values.is_empty() {
            return Ok(());
        }
        return Err(format!(" ({} not among its values)", missing.join(", ")));
    }
    Err(String::new())
}

/// The names the file's `use` items bring in, with the full path each stands for.
fn aliases(file: &syn::File) -> BTreeMap<String, String> {
    fn walk(tree: &UseTree, prefix: &str, out: &mut BTreeMap<String, String>) {
        let join = |name: &str| {
            if prefix.is_empty() {
                name.to_string()
            } else {
                format!("{prefix}::{name}")
            }
        };
        match tree {
            UseTree::Path(p) => walk(&p.tree, &join(&p.ident.to_string()), out),
            UseTree::Name(n) => {
                out.insert(n.ident.to_string(), join(&n.ident.to_string()));
            }
            UseTree::Rename(r) => {
                out.insert(r.rename.to_string(), join(&r.ident.to_string()));
            }
            UseTree::Group(g) => g.items.iter().for_each(|t| walk(t, prefix, out)),
            UseTree::Glob(_) => {}
        }
    }
    let mut out = BTreeMap::new();
    for item in &file.items {
        if let Item::Use(u) = item {
            walk(&u.tree, "", &mut out);
        }
    }
    out
}

/// The TypeScript a Rust type reaches the window as (ts-rs and serde's mapping).
fn ts_of(ty: &Type, aliases: &BTreeMap<String, String>) -> String {
    match ty {
        Type::Reference(r) => ts_of(&r.elem, aliases),
        Type::Tuple(t) if t.elems.is_empty() => "void".into(),
        Type::Slice(s) => format!("{}[]", ts_of(&s.elem, aliases)),
        Type::Path(p) => {
            let Some(last) = p.path.segments.last() else {
                return "?".into();
            };
            let ident = last.ident.to_string();
            let args: Vec<String> = match &last.arguments {
                PathArguments::AngleBracketed(a) => a
                    .args
                    .iter()
                    .filter_map(|g| match g {
                        GenericArgument::Type(t) => Some(ts_of(t, aliases)),
                        _ => None,
                    })
                    .collect(),
                _ => Vec::new(),
            };
            let full = if p.path.segments.len() > 1 {
                p.path
                    .segments
                    .iter()
                    .map(|s| s.ident.to_string())
                    .collect::<Vec<_>>()
                    .join("::")
            } else {
                aliases
                    .get(&ident)
                    .cloned()
                    .unwrap_or_else(|| ident.clone())
            };
            let arg = |i: usize| args.get(i).cloned().unwrap_or_else(|| "?".into());
            match ident.as_str() {
                _ if full.ends_with("ipc::Channel") => format!("IpcChannel<{}>", arg(0)),
                "String" | "str" | "DateTime" | "NaiveDate" | "Uuid" => "string".into(),
                "u8" | "u16" | "u32" | "u64" | "usize" | "i8" | "i16" | "i32" | "i64" | "isize"
                | "f32" | "f64" => "number".into(),
                "bool" => "boolean".into(),
                "Option" => format!("{} | null", arg(0)),
                "Vec" => format!("{}[]", arg(0)),
                "BTreeMap" | "HashMap" => format!("Record<{}, {}>", arg(0), arg(1)),
                "Box" | "Arc" => arg(0),
                _ => ident,
            }
        }
        _ => "?".into(),
    }
}

/// `Result<T, E>` → `T`; anything else as it is.
fn ok_type(ty: &Type) -> &Type {
    generic_of(ty, "Result").unwrap_or(ty)
}

/// `Option<T>` → `T`.
fn option_inner(ty: &Type) -> Option<&Type> {
    generic_of(ty, "Option")
}

fn generic_of<'t>(ty: &'t Type, name: &str) -> Option<&'t Type> {
    let Type::Path(p) = ty else { return None };
    let last = p.path.segments.last()?;
    if last.ident != name {
        return None;
    }
    let PathArguments::AngleBracketed(a) = &last.arguments else {
        return None;
    };
    a.args.iter().find_map(|g| match g {
        GenericArgument::Type(t) => Some(t),
        _ => None,
    })
}

fn last_ident(ty: &Type) -> String {
    match ty {
        Type::Path(p) => p
            .path
            .segments
            .last()
            .map(|s| s.ident.to_string())
            .unwrap_or_default(),
        Type::Reference(r) => last_ident(&r.elem),
        _ => String::new(),
    }
}

fn quote_pat(pat: &syn::Pat) -> String {
    match pat {
        syn::Pat::Ident(i) => i.ident.to_string(),
        _ => "_".into(),
    }
}

fn camel_case(snake: &str) -> String {
    super::camel_case(snake)
}
