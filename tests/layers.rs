//! The layers hold: no import circle between the files of `src/app` or of
//! `src/backend`, and `src/backend` takes nothing from the app, the CLI or
//! the event loop (the messages both sides use live in `src/protocol`).
//! Read from the source text: `use` lines (groups expanded) and inline
//! `crate::`/`super::`/`self::` paths, outside comments and test modules.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Module path of a source file: `src/app/update/mod.rs` -> `app::update`.
fn module_of(src: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src).unwrap().with_extension("");
    let mut segs: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if matches!(
        segs.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        segs.pop();
    }
    segs
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The code of a file without comments and its `#[cfg(test)]` module.
fn code(text: &str) -> String {
    let text = text.split("#[cfg(test)]").next().unwrap_or("");
    text.lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n")
}

/// `a::{b, c::{d, e}}` -> `a::b`, `a::c::d`, `a::c::e`.
fn expand(path: &str) -> Vec<String> {
    let path = path.trim();
    let Some(open) = path.find('{') else {
        let p = path.split(" as ").next().unwrap_or(path).trim();
        return vec![p.trim_end_matches("::").to_string()];
    };
    let prefix = &path[..open];
    let inner = &path[open + 1..path.rfind('}').unwrap_or(path.len())];
    let (mut parts, mut depth, mut cur) = (Vec::new(), 0, String::new());
    for ch in inner.chars() {
        match ch {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(std::mem::take(&mut cur));
                continue;
            }
            _ => {}
        }
        cur.push(ch);
    }
    parts.push(cur);
    parts
        .iter()
        .filter(|p| !p.trim().is_empty())
        .flat_map(|p| expand(p))
        .map(|p| format!("{prefix}{p}"))
        .collect()
}

/// Every `crate::`, `super::` or `self::` path a file's code names.
fn paths(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    let uses = regex::Regex::new(r"(?s)\buse\s+((?:crate|super|self)::[^;]+);").unwrap();
    for m in uses.captures_iter(code) {
        out.extend(expand(&m[1]));
    }
    let inline = regex::Regex::new(r"\b(?:crate|super|self)(?:::\w+)+").unwrap();
    out.extend(inline.find_iter(code).map(|m| m.as_str().to_string()));
    out
}

struct Graph {
    /// file -> files it imports from (other than itself).
    edges: BTreeMap<PathBuf, BTreeSet<PathBuf>>,
    /// file -> absolute module paths it names.
    names: BTreeMap<PathBuf, Vec<Vec<String>>>,
}

fn graph() -> Graph {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let modules: BTreeMap<Vec<String>, PathBuf> = files
        .iter()
        .map(|f| (module_of(&src, f), f.clone()))
        .collect();
    let mut g = Graph {
        edges: BTreeMap::new(),
        names: BTreeMap::new(),
    };
    for f in &files {
        let me = module_of(&src, f);
        let text = std::fs::read_to_string(f).unwrap();
        for p in paths(&code(&text)) {
            let mut segs: Vec<&str> = p.split("::").filter(|s| !s.is_empty()).collect();
            let mut full: Vec<String> = match segs.remove(0) {
                "crate" => Vec::new(),
                // From a/b/c.rs or a/b/c/mod.rs (module a::b::c): a::b.
                "super" => me[..me.len().saturating_sub(1)].to_vec(),
                _ => me.clone(),
            };
            for s in segs {
                match s {
                    "super" => {
                        full.pop();
                    }
                    "self" => {}
                    s => full.push(s.to_string()),
                }
            }
            g.names.entry(f.clone()).or_default().push(full.clone());
            let target = (1..=full.len()).rev().find_map(|n| modules.get(&full[..n]));
            if let Some(t) = target.filter(|t| *t != f) {
                g.edges.entry(f.clone()).or_default().insert(t.clone());
            }
        }
    }
    g
}

/// Files of `under` that sit on an import circle among themselves.
fn circles(g: &Graph, under: &str) -> Vec<Vec<PathBuf>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("src")
        .join(under);
    let inside = |p: &PathBuf| p.starts_with(&src);
    let nodes: Vec<&PathBuf> = g.edges.keys().filter(|p| inside(p)).collect();
    // Reachability within the folder; a circle is a pair that reach each other.
    let reach = |from: &PathBuf| {
        let mut seen = BTreeSet::new();
        let mut todo = vec![from.clone()];
        while let Some(n) = todo.pop() {
            for t in g.edges.get(&n).into_iter().flatten().filter(|t| inside(t)) {
                if seen.insert(t.clone()) {
                    todo.push(t.clone());
                }
            }
        }
        seen
    };
    let mut found: Vec<Vec<PathBuf>> = Vec::new();
    for n in nodes {
        let from_n = reach(n);
        if !from_n.contains(n) || found.iter().any(|c| c.contains(n)) {
            continue;
        }
        let circle: Vec<PathBuf> = from_n
            .iter()
            .filter(|m| reach(m).contains(n))
            .cloned()
            .collect();
        found.push(circle);
    }
    found
}

#[test]
fn app_has_no_import_circle() {
    let c = circles(&graph(), "app");
    assert!(c.is_empty(), "import circles in src/app: {c:#?}");
}

#[test]
fn backend_has_no_import_circle() {
    let c = circles(&graph(), "backend");
    assert!(c.is_empty(), "import circles in src/backend: {c:#?}");
}

#[test]
fn backend_takes_nothing_from_the_app_the_cli_or_the_event_loop() {
    let g = graph();
    let backend = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/backend");
    let mut wrong = Vec::new();
    for (file, names) in &g.names {
        if !file.starts_with(&backend) {
            continue;
        }
        for n in names {
            if matches!(
                n.first().map(String::as_str),
                Some("app" | "cli" | "event_loop" | "subcommands" | "ui")
            ) {
                wrong.push(format!("{}: {}", file.display(), n.join("::")));
            }
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

#[test]
fn the_reader_finds_a_circle_where_there_is_one() {
    // The check itself can fail: two files that import each other.
    let mut g = Graph {
        edges: BTreeMap::new(),
        names: BTreeMap::new(),
    };
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/app");
    let (a, b) = (src.join("a.rs"), src.join("b.rs"));
    g.edges.insert(a.clone(), [b.clone()].into());
    g.edges.insert(b.clone(), [a.clone()].into());
    assert_eq!(circles(&g, "app").len(), 1);
    assert_eq!(
        expand("a::{b, c::{d, e as f}}"),
        ["a::b", "a::c::d", "a::c::e"]
    );
}
