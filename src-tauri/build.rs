//! Build script: generates everything a desktop command needs from its one declaration in
//! `src-tauri/commands.txt` (the invoke handler, the app manifest, the capability files and the
//! UI's typed calls), then resolves the window's capabilities and embeds the Tauri configuration.

#[path = "build/signatures.rs"]
mod signatures;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Where the commands are declared, relative to the package root (the workspace root).
const DEFINITION: &str = "src-tauri/commands.txt";
const CAPABILITIES: &str = "src-tauri/capabilities";
const TS_BINDINGS: &str = "ui/src/lib/generated/commands.ts";
/// Where the ts-rs record types the signatures name live.
const TS_TYPES: &str = "ui/src/lib/generated";
/// The shell's sources, where each declared command's function is found.
const SOURCES: &str = "src-tauri/src";

/// A capability group: one `capabilities/<name>.json` granting its commands to the main window.
struct Group {
    name: String,
    identifier: String,
    description: String,
    commands: Vec<Command>,
}

/// One `#[tauri::command]` as declared.
struct Command {
    /// The Rust path, e.g. `commands::letters::contact_open`.
    path: String,
    /// The name the window invokes: the path's last segment.
    name: String,
    /// The TypeScript function that calls it (backend.ts writes it itself when `manual`).
    binding: String,
    manual: bool,
    /// `(name, optional, TypeScript type)` in the order the function takes them.
    args: Vec<(String, bool, String)>,
    result: String,
}

impl Command {
    /// The TypeScript parameters, `name: type` or `name?: type`.
    fn params(&self) -> Vec<String> {
        self.args
            .iter()
            .map(|(name, optional, ty)| format!("{name}{}: {ty}", if *optional { "?" } else { "" }))
            .collect()
    }
}

fn main() {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    println!("cargo:rerun-if-changed={DEFINITION}");
    println!("cargo:rerun-if-changed={CAPABILITIES}");
    let text = std::fs::read_to_string(root.join(DEFINITION))
        .unwrap_or_else(|e| panic!("reading {DEFINITION}: {e}"));
    let groups = parse(&text).unwrap_or_else(|e| panic!("{DEFINITION}: {e}"));
    check_signatures(&groups, &root);
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets it"));
    write_if_changed(&out.join("invoke_handler.rs"), &invoke_handler(&groups));
    for group in &groups {
        let file = root.join(CAPABILITIES).join(format!("{}.json", group.name));
        write_if_changed(&file, &capability(group));
    }
    write_if_changed(&root.join(TS_BINDINGS), &bindings(&groups, &root));

    // The manifest wants `'static` names; the build script ends right after.
    let names: &'static [&'static str] = Vec::leak(
        groups
            .iter()
            .flat_map(|g| &g.commands)
            .map(|c| &*String::leak(c.name.clone()))
            .collect(),
    );
    let attributes = tauri_build::Attributes::new()
        .capabilities_path_pattern("./src-tauri/capabilities/**/*")
        .app_manifest(tauri_build::AppManifest::new().commands(names));
    if let Err(error) = tauri_build::try_build(attributes) {
        panic!("tauri build step failed: {error:#}");
    }
}

/// Fails the build when a declared signature does not match its Rust function.
fn check_signatures(groups: &[Group], root: &Path) {
    println!("cargo:rerun-if-changed={SOURCES}/commands.rs");
    println!("cargo:rerun-if-changed={SOURCES}/commands");
    let declared: Vec<signatures::Declared<'_>> = groups
        .iter()
        .flat_map(|g| &g.commands)
        .map(|c| signatures::Declared {
            path: &c.path,
            args: &c.args,
            result: &c.result,
        })
        .collect();
    let problems = signatures::mismatches(&declared, &root.join(SOURCES), &root.join(TS_TYPES));
    if !problems.is_empty() {
        panic!(
            "{DEFINITION} does not match the Rust commands:\n  {}",
            problems.join("\n  ")
        );
    }
}

fn parse(text: &str) -> Result<Vec<Group>, String> {
    let mut groups: Vec<Group> = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let at = |e: String| format!("line {}: {e}", number + 1);
        let (head, tail) = line
            .split_once(" | ")
            .ok_or_else(|| at("expected `<declaration> | <signature>`".into()))?;
        let words: Vec<&str> = head.split_whitespace().collect();
        if let ["group", name, identifier] = words[..] {
            groups.push(Group {
                name: name.into(),
                identifier: identifier.into(),
                description: tail.trim().into(),
                commands: Vec::new(),
            });
            continue;
        }
        let (path, binding) = match words[..] {
            [path] => (path, None),
            [path, "manual", binding] => (path, Some(binding)),
            _ => return Err(at(format!("cannot read `{head}`"))),
        };
        let name = path.rsplit("::").next().unwrap_or(path).to_string();
        if !seen.insert(name.clone()) {
            return Err(at(format!("`{name}` is declared twice")));
        }
        let (args, result) = signature(tail).map_err(at)?;
        let group = groups
            .last_mut()
            .ok_or_else(|| at("a command before the first group".into()))?;
        group.commands.push(Command {
            path: path.into(),
            binding: binding.map_or_else(|| camel_case(&name), String::from),
            manual: binding.is_some(),
            name,
            args,
            result,
        });
    }
    Ok(groups)
}

type Signature = (Vec<(String, bool, String)>, String);

/// Reads `(a: T, b?: U) => R`, splitting arguments only at top-level commas.
fn signature(text: &str) -> Result<Signature, String> {
    let text = text.trim();
    let close = text
        .strip_prefix('(')
        .and_then(|rest| rest.find(") => ").map(|i| i + 1))
        .ok_or_else(|| format!("expected `(args) => result`, got `{text}`"))?;
    let result = text[close + ") => ".len()..].trim().to_string();
    let mut args = Vec::new();
    for arg in split_top_level(&text[1..close]) {
        let (name, ty) = arg
            .split_once(':')
            .ok_or_else(|| format!("argument `{arg}` has no type"))?;
        let (name, optional) = match name.trim().strip_suffix('?') {
            Some(name) => (name, true),
            None => (name.trim(), false),
        };
        args.push((name.to_string(), optional, ty.trim().to_string()));
    }
    Ok((args, result))
}

fn split_top_level(text: &str) -> Vec<String> {
    let (mut parts, mut current, mut depth) = (Vec::new(), String::new(), 0i32);
    for c in text.chars() {
        match c {
            '<' | '(' | '{' | '[' => depth += 1,
            '>' | ')' | '}' | ']' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(std::mem::take(&mut current));
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    parts.push(current);
    parts.retain(|p| !p.trim().is_empty());
    parts
}

fn camel_case(snake: &str) -> String {
    let mut parts = snake.split('_');
    let mut out = parts.next().unwrap_or_default().to_string();
    for part in parts {
        let mut chars = part.chars();
        if let Some(first) = chars.next() {
            out.extend(first.to_uppercase());
            out.push_str(chars.as_str());
        }
    }
    out
}

fn invoke_handler(groups: &[Group]) -> String {
    let mut out = String::from("tauri::generate_handler![\n");
    for command in groups.iter().flat_map(|g| &g.commands) {
        let _ = writeln!(out, "    {},", command.path);
    }
    out.push(']');
    out
}

fn json_string(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

fn capability(group: &Group) -> String {
    let permissions: Vec<String> = group
        .commands
        .iter()
        .map(|c| format!("    \"allow-{}\"", c.name.replace('_', "-")))
        .collect();
    format!(
        "{{\n  \"$schema\": \"../../gen/schemas/desktop-schema.json\",\n  \"identifier\": {},\n  \
         \"description\": {},\n  \"windows\": [\"main\"],\n  \"permissions\": [\n{}\n  ]\n}}\n",
        json_string(&group.identifier),
        json_string(&format!(
            "{} Generated from src-tauri/commands.txt.",
            group.description
        )),
        permissions.join(",\n"),
    )
}

/// The record types a signature names that ts-rs generated (`Lead`, `SyncView`, …).
fn referenced_types(groups: &[Group], root: &Path) -> std::collections::BTreeSet<String> {
    let mut names = std::collections::BTreeSet::new();
    for command in groups.iter().flat_map(|g| &g.commands) {
        let types = command.args.iter().map(|(_, _, ty)| ty.as_str());
        for ty in types.chain([command.result.as_str()]) {
            for word in ty.split(|c: char| !c.is_ascii_alphanumeric()) {
                let generated = root.join(TS_TYPES).join(format!("{word}.ts"));
                if word.starts_with(|c: char| c.is_ascii_uppercase()) && generated.exists() {
                    names.insert(word.to_string());
                }
            }
        }
    }
    names
}

fn bindings(groups: &[Group], root: &Path) -> String {
    let mut out = String::from(
        "// Generated by src-tauri/build.rs from src-tauri/commands.txt: edit that file, not this one.\n\
         // backend.ts, the UI's one door to Rust, re-exports these functions and supplies `call`.\n\
         import type { Channel as IpcChannel } from '@tauri-apps/api/core';\n\
         import { call } from '../backend';\n",
    );
    for name in referenced_types(groups, root) {
        let _ = writeln!(out, "import type {{ {name} }} from './{name}';");
    }
    out.push_str(
        "\n/** Every desktop command: the arguments the window sends and the result it gets. */\n\
         export interface Commands {\n",
    );
    for command in groups.iter().flat_map(|g| &g.commands) {
        let args = command.params();
        let args = if args.is_empty() {
            "Record<string, never>".to_string()
        } else {
            format!("{{ {} }}", args.join("; "))
        };
        let _ = writeln!(
            out,
            "  {}: {{ args: {args}; result: {} }};",
            command.name, command.result
        );
    }
    out.push_str(
        "}\n\n/** Each command's capability group and the backend.ts function that calls it. */\n\
         export const COMMANDS: Record<keyof Commands, { group: string; binding: string }> = {\n",
    );
    for group in groups {
        for command in &group.commands {
            let _ = writeln!(
                out,
                "  {}: {{ group: '{}', binding: '{}' }},",
                command.name, group.name, command.binding
            );
        }
    }
    out.push_str("};\n");
    for command in groups
        .iter()
        .flat_map(|g| &g.commands)
        .filter(|c| !c.manual)
    {
        let params = command.params();
        let names: Vec<&str> = command.args.iter().map(|(n, _, _)| n.as_str()).collect();
        let args = if names.is_empty() {
            "{}".to_string()
        } else {
            format!("{{ {} }}", names.join(", "))
        };
        let _ = write!(
            out,
            "\nexport function {}({}): Promise<{}> {{\n  return call('{}', {args});\n}}\n",
            command.binding,
            params.join(", "),
            command.result,
            command.name,
        );
    }
    out
}

/// Writes only when the text differs, so an unchanged definition triggers no rebuilds.
fn write_if_changed(path: &Path, text: &str) {
    if std::fs::read_to_string(path).ok().as_deref() == Some(text) {
        return;
    }
    std::fs::write(path, text).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
}
