//! The layering rule, checked on the source: every `crate::` path in `src/` may name only a module
//! listed *below* its own module in the `//!` module map of `src/lib.rs` (the documented order,
//! which `ARCHITECTURE.md` repeats), and the client never names the engine, the store, the index
//! or the API. A failure names the file and line of each offending path.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Modules the client must not use: it talks to the server over gRPC like any other client.
const CLIENT_FORBIDDEN: [&str; 6] = ["engine", "store", "index", "api", "auth", "audit"];

/// One `crate::` path: where it is and which top-level module it names.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Edge {
    file: String,
    line: usize,
    from: String,
    to: String,
}

/// The module names of a `//! - [`name`]: ...` list, in order.
fn module_map(lib_rs: &str) -> Vec<String> {
    lib_rs
        .lines()
        .filter_map(|line| line.strip_prefix("//! - [`"))
        .filter_map(|rest| rest.split_once("`]"))
        .map(|(name, _)| name.to_string())
        .collect()
}

/// The modules `ARCHITECTURE.md` lists in its module map table (first column, in backticks),
/// in order.
fn architecture_map(markdown: &str) -> Vec<String> {
    let Some(start) = markdown.find("## Module map") else {
        return Vec::new();
    };
    markdown[start..]
        .lines()
        .skip(1)
        .take_while(|line| !line.starts_with("## "))
        .filter_map(|line| line.strip_prefix("| `"))
        .filter_map(|rest| rest.split_once('`'))
        .map(|(name, _)| {
            let name = name.trim_end_matches('/');
            name.strip_suffix(".rs").unwrap_or(name).to_string()
        })
        .collect()
}

/// The names `src/lib.rs` re-exports at the crate root (`pub use error::{Error, Result};`), with
/// the module each comes from: `crate::Error` is a use of `error`.
fn root_reexports(lib_rs: &str) -> Vec<(String, String)> {
    lib_rs
        .lines()
        .filter_map(|line| line.strip_prefix("pub use "))
        .filter_map(|rest| rest.trim_end_matches(';').split_once("::"))
        .flat_map(|(module, names)| {
            names
                .trim_matches(|c| c == '{' || c == '}')
                .split(',')
                .map(|name| (name.trim().to_string(), module.to_string()))
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Source text with comments and string and char literals blanked out (newlines kept, so line
/// numbers still hold).
fn code_only(source: &str) -> String {
    let bytes = source.as_bytes();
    let mut out = String::with_capacity(source.len());
    let mut i = 0;
    let blank = |c: char| if c == '\n' { '\n' } else { ' ' };
    while i < bytes.len() {
        let rest = &source[i..];
        if rest.starts_with("//") {
            let end = rest.find('\n').unwrap_or(rest.len());
            out.extend(std::iter::repeat_n(' ', end));
            i += end;
        } else if rest.starts_with("/*") {
            let end = rest.find("*/").map_or(rest.len(), |e| e + 2);
            out.extend(rest[..end].chars().map(blank));
            i += end;
        } else if rest.starts_with("r#\"") || rest.starts_with("r\"") {
            let hashes = rest[1..].chars().take_while(|&c| c == '#').count();
            let close = format!("\"{}", "#".repeat(hashes));
            let body = 2 + hashes;
            let end = rest[body..]
                .find(&close)
                .map_or(rest.len(), |e| body + e + close.len());
            out.extend(rest[..end].chars().map(blank));
            i += end;
        } else if let Some(body) = rest.strip_prefix('"') {
            let mut end = rest.len();
            let mut chars = body.char_indices();
            while let Some((at, c)) = chars.next() {
                match c {
                    '\\' => {
                        chars.next();
                    }
                    '"' => {
                        end = at + 2;
                        break;
                    }
                    _ => {}
                }
            }
            out.extend(rest[..end].chars().map(blank));
            i += end;
        } else if let Some(len) = char_literal(rest) {
            out.extend(std::iter::repeat_n(' ', rest[..len].chars().count()));
            i += len;
        } else {
            let c = rest.chars().next().expect("not at the end");
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

/// The length of a char literal at the start of `rest` (`'a'`, `'\n'`, `'"'`), not a lifetime.
fn char_literal(rest: &str) -> Option<usize> {
    let mut chars = rest.char_indices();
    chars.next().filter(|(_, c)| *c == '\'')?;
    let (_, first) = chars.next()?;
    if first == '\\' {
        let close = rest[2..].find('\'')?;
        return Some(2 + close + 1);
    }
    let (at, second) = chars.next()?;
    (second == '\'').then_some(at + 1)
}

/// Every top-level module a piece of code names with `crate::`, with its line: `crate::a::b`,
/// and each name of a group `crate::{a::b, c}`.
fn crate_paths(code: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(at) = code[from..].find("crate::") {
        let start = from + at;
        from = start + "crate::".len();
        let before = code[..start].chars().next_back();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue; // e.g. `tideline_crate::`, not this crate
        }
        let line = code[..start].matches('\n').count() + 1;
        let rest = &code[from..];
        if let Some(group) = rest.strip_prefix('{') {
            for name in group_heads(group) {
                found.push((line, name));
            }
        } else {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            found.push((line, name));
        }
    }
    found
}

/// The first path segment of each item of a `{...}` group (the text after its `{`).
fn group_heads(group: &str) -> Vec<String> {
    let mut items = Vec::new();
    let mut depth = 0;
    let mut current = String::new();
    for c in group.chars() {
        match c {
            '}' if depth == 0 => break,
            ',' if depth == 0 => items.push(std::mem::take(&mut current)),
            '{' => depth += 1,
            '}' => depth -= 1,
            c => current.push(c),
        }
    }
    items.push(current);
    items
        .iter()
        .map(|item| {
            item.trim()
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect::<String>()
        })
        .filter(|head| !head.is_empty())
        .collect()
}

/// The top-level module a file under `src/` belongs to (`src/a/b.rs` and `src/a.rs` → `a`).
fn module_of(relative: &Path) -> Option<String> {
    let first = relative.components().next()?.as_os_str().to_str()?;
    let name = first.strip_suffix(".rs").unwrap_or(first);
    (!matches!(name, "lib" | "main")).then(|| name.to_string())
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("src is readable")
        .map(|e| e.expect("a directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Every `crate::` edge between top-level modules in the given files (`relative path`, text);
/// a crate-root re-export counts as a use of the module it comes from.
fn edges(files: &[(String, String)], reexports: &[(String, String)]) -> Vec<Edge> {
    let mut out = Vec::new();
    for (relative, text) in files {
        let Some(from) = module_of(Path::new(relative)) else {
            continue;
        };
        for (line, name) in crate_paths(&code_only(text)) {
            let to = reexports
                .iter()
                .find(|(reexported, _)| *reexported == name)
                .map_or(name, |(_, module)| module.clone());
            if to != from {
                out.push(Edge {
                    file: format!("src/{relative}"),
                    line,
                    from: from.clone(),
                    to,
                });
            }
        }
    }
    out
}

/// What breaks the rule: a module naming one at or above it in `order` (top first), a module
/// not in `order`, or the client naming a forbidden module.
fn violations(order: &[String], edges: &[Edge]) -> Vec<String> {
    let rank = |name: &str| order.iter().position(|m| m == name);
    let mut found = Vec::new();
    for edge in edges {
        let at = format!("{}:{}", edge.file, edge.line);
        match (rank(&edge.from), rank(&edge.to)) {
            (None, _) => found.push(format!(
                "{at}: module `{}` is not in the module map of src/lib.rs",
                edge.from
            )),
            (_, None) => found.push(format!(
                "{at}: `crate::{}` is not a module of the module map",
                edge.to
            )),
            (Some(from), Some(to)) if to < from => found.push(format!(
                "{at}: `{}` uses `crate::{}`, which is above it in the layering",
                edge.from, edge.to
            )),
            _ => {}
        }
        if edge.from == "client" && CLIENT_FORBIDDEN.contains(&edge.to.as_str()) {
            found.push(format!(
                "{at}: the client uses `crate::{}`; it must talk gRPC like any other client",
                edge.to
            ));
        }
    }
    found
}

fn repository() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn every_module_uses_only_the_modules_below_it() {
    let root = repository();
    let lib = std::fs::read_to_string(root.join("src/lib.rs")).unwrap();
    let order = module_map(&lib);
    assert!(order.len() > 10, "module map of src/lib.rs: {order:?}");
    let declared: BTreeSet<String> = lib
        .lines()
        .filter_map(|l| l.strip_prefix("pub mod "))
        .map(|l| l.trim_end_matches(';').to_string())
        .collect();
    let mapped: BTreeSet<String> = order.iter().cloned().collect();
    assert_eq!(
        declared, mapped,
        "src/lib.rs declares these modules but its map lists those"
    );
    let mut paths = Vec::new();
    rust_files(&root.join("src"), &mut paths);
    let files: Vec<(String, String)> = paths
        .iter()
        .map(|p| {
            let relative = p.strip_prefix(root.join("src")).unwrap();
            (
                relative.to_string_lossy().into_owned(),
                std::fs::read_to_string(p).unwrap(),
            )
        })
        .collect();
    let edges = edges(&files, &root_reexports(&lib));
    assert!(edges.len() > 100, "found only {} edges", edges.len());
    let broken = violations(&order, &edges);
    assert!(
        broken.is_empty(),
        "layering broken ({} places):\n{}",
        broken.len(),
        broken.join("\n")
    );
}

#[test]
fn architecture_md_draws_the_same_module_map() {
    let root = repository();
    let lib = std::fs::read_to_string(root.join("src/lib.rs")).unwrap();
    let architecture = std::fs::read_to_string(root.join("ARCHITECTURE.md")).unwrap();
    assert_eq!(architecture_map(&architecture), module_map(&lib));
}

#[test]
fn the_checker_finds_paths_in_every_form_and_ignores_comments_and_strings() {
    let source = r#"
//! Uses `crate::engine` in a doc comment.
use crate::model::Verbatim;
use crate::{
    store::{Store, DocKind},
    text,
};
/* crate::api in a block comment */
fn f() -> crate::time::Micros {
    let _ = "crate::index in a string";
    let _ = 'c';
    let _ = tideline_crate::x;
    crate::trends::series(&[]);
    0
}
"#;
    let found = crate_paths(&code_only(source));
    assert_eq!(
        found,
        vec![
            (3, "model".to_string()),
            (4, "store".to_string()),
            (4, "text".to_string()),
            (9, "time".to_string()),
            (13, "trends".to_string()),
        ]
    );
}

#[test]
fn the_checker_names_each_upward_or_forbidden_edge() {
    let order: Vec<String> = ["client", "engine", "store", "model"]
        .map(String::from)
        .to_vec();
    let files = vec![
        (
            "model.rs".to_string(),
            "use crate::store::Store;\nfn f() -> crate::Result<()> {}\n".to_string(),
        ),
        (
            "client/cli.rs".to_string(),
            "\nuse crate::engine::Engine;\nuse crate::model::X;\n".to_string(),
        ),
        (
            "engine/mod.rs".to_string(),
            "use crate::nowhere;\n".to_string(),
        ),
    ];
    let reexports = root_reexports("pub use store::{Store, Result};\n");
    let broken = violations(&order, &edges(&files, &reexports));
    assert_eq!(
        broken,
        vec![
            "src/model.rs:1: `model` uses `crate::store`, which is above it in the layering",
            "src/model.rs:2: `model` uses `crate::store`, which is above it in the layering",
            "src/client/cli.rs:2: the client uses `crate::engine`; it must talk gRPC like any other client",
            "src/engine/mod.rs:1: `crate::nowhere` is not a module of the module map",
        ]
    );
}
