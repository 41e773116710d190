//! Reading what a release's content hash covers: the runbook file, the
//! files it references, and the API server URL of the cluster. The hash
//! itself is computed by the domain (`runbook::content`).

use std::path::Path;

use crate::runbook::content::{ClusterRef, ClusterSource, ContentManifest, ContentRequest};

/// Most bytes of one referenced file held in memory; a larger file is
/// hashed as it streams by (every byte still counts), and that digest
/// stands for its content.
const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;

fn read_file(path: &Path) -> Option<Vec<u8>> {
    read_file_within(path, MAX_FILE_BYTES)
}

fn read_file_within(path: &Path, max: u64) -> Option<Vec<u8>> {
    use sha2::{Digest, Sha256};
    let meta = std::fs::metadata(path).ok()?;
    if !meta.is_file() {
        return None;
    }
    if meta.len() > max {
        let mut f = std::fs::File::open(path).ok()?;
        let mut h = Sha256::new();
        let len = std::io::copy(&mut f, &mut h).ok()?;
        let mut stands_for = b"flightdeck-large-file-sha256\0".to_vec();
        stands_for.extend(h.finalize());
        stands_for.extend(len.to_be_bytes());
        return Some(stands_for);
    }
    std::fs::read(path).ok()
}

/// The files of a directory, one level deep, by name.
fn read_dir(dir: &str) -> Vec<(String, Option<Vec<u8>>)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return vec![(dir.to_string(), None)];
    };
    let mut names: Vec<String> = entries
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .filter_map(|e| e.file_name().into_string().ok())
        .collect();
    names.sort();
    let base = dir.trim_end_matches('/');
    let mut out: Vec<(String, Option<Vec<u8>>)> = names
        .into_iter()
        .map(|n| {
            let p = format!("{base}/{n}");
            let bytes = read_file(Path::new(&p));
            (p, bytes)
        })
        .collect();
    // An empty directory still counts (as present, with nothing in it).
    out.push((format!("{base}/"), Some(Vec::new())));
    out
}

fn cluster(source: &ClusterSource) -> Option<ClusterRef> {
    match source {
        ClusterSource::Known(c) => Some(c.clone()),
        ClusterSource::Resolve {
            kubeconfig,
            context,
            namespace,
        } => {
            let server = super::kube::client::resolve(kubeconfig.as_deref(), Some(context), None)
                .map(|r| r.server)
                .unwrap_or_default();
            Some(ClusterRef {
                context: context.clone(),
                namespace: namespace.clone(),
                server,
            })
        }
    }
}

/// Read everything `req` names. A file that cannot be read counts as
/// missing; an unreadable runbook as empty (its hash then differs).
pub fn read(req: &ContentRequest) -> ContentManifest {
    let runbook = std::fs::read(&req.runbook_path).unwrap_or_default();
    let mut files = Vec::new();
    for r in &req.paths {
        if r.path.contains("${") {
            files.push((r.path.clone(), None));
        } else if r.dir {
            files.extend(read_dir(&r.path));
        } else {
            files.push((r.path.clone(), read_file(Path::new(&r.path))));
        }
    }
    ContentManifest::new(
        &runbook,
        &files,
        &req.environment,
        req.cluster.as_ref().and_then(cluster),
        &req.inputs,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_large_file_counts_every_byte() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.sql");
        let mut bytes = vec![b'a'; 100];
        std::fs::write(&path, &bytes).unwrap();
        let before = read_file_within(&path, 10).unwrap();
        // Same length, same prefix, one byte changed at the end.
        bytes[99] = b'b';
        std::fs::write(&path, &bytes).unwrap();
        let after = read_file_within(&path, 10).unwrap();
        assert_ne!(before, after);
        assert!(before.len() < 100, "held as a digest, not the bytes");
        assert_eq!(read_file_within(&path, 1000).unwrap(), bytes);
    }
}
