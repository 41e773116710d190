//! SSH signatures of sign-offs: a sign-off carries `ssh-keygen -Y sign -n
//! flightdeck` over its record, and `verify` checks it with `ssh-keygen -Y
//! verify` against `allowed_signers` in the config dir (the OpenSSH
//! format: `person key-type base64-key`).

use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};

use tokio::io::AsyncWriteExt;

/// The signature namespace: a flightdeck signature is never valid elsewhere.
pub const NAMESPACE: &str = "flightdeck";

/// Why ssh-keygen could not give an answer (a signature that does not
/// verify is an answer: `Verdict::Bad`).
#[derive(Debug, thiserror::Error)]
pub enum SignatureError {
    #[error("cannot run ssh-keygen: {0}")]
    Spawn(#[source] std::io::Error),
    #[error("ssh-keygen stdin: {0}")]
    Stdin(#[source] std::io::Error),
    #[error("ssh-keygen did not answer in 30s (a passphrase prompt?)")]
    Timeout,
    #[error("ssh-keygen: {0}")]
    Wait(#[source] std::io::Error),
    #[error("ssh-keygen -Y sign with {key} failed: {stderr}")]
    SignFailed { key: PathBuf, stderr: String },
    #[error("ssh-keygen printed a non-UTF-8 signature")]
    NotUtf8,
    #[error("{}: {source}", path.display())]
    TempFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "your SSH key is not in {} (ask for it to be added: `PRINCIPAL key-type key` per line)",
        allowed.display()
    )]
    NotListed { allowed: PathBuf },
}

/// What `ssh-keygen -Y verify` said of a signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Valid,
    /// It does not verify, with ssh-keygen's reason.
    Bad(String),
}

async fn ssh_keygen(args: &[&str], stdin: &[u8]) -> Result<Output, SignatureError> {
    let mut child = tokio::process::Command::new("ssh-keygen")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(SignatureError::Spawn)?;
    if let Some(mut input) = child.stdin.take() {
        input
            .write_all(stdin)
            .await
            .map_err(SignatureError::Stdin)?;
    }
    tokio::time::timeout(std::time::Duration::from_secs(30), child.wait_with_output())
        .await
        .map_err(|_| SignatureError::Timeout)?
        .map_err(SignatureError::Wait)
}

/// `ssh-keygen ARGS -s FILE` with `signature` in a private temporary FILE,
/// removed afterwards (ssh-keygen reads signatures only from a file).
async fn with_signature_file(
    signature: &str,
    args: &[&str],
    stdin: &[u8],
) -> Result<Output, SignatureError> {
    let path = std::env::temp_dir().join(format!(
        "flightdeck-signoff-{}-{:016x}.sig",
        std::process::id(),
        rand::random::<u64>()
    ));
    crate::private::write(&path, signature).map_err(|source| SignatureError::TempFile {
        path: path.clone(),
        source,
    })?;
    let path_s = path.display().to_string();
    let mut all = args.to_vec();
    all.extend(["-s", &path_s]);
    let out = ssh_keygen(&all, stdin).await;
    let _ = std::fs::remove_file(&path);
    out
}

/// Sign `data` (a sign-off or start record) with the private key at `key`.
pub async fn sign(key: &Path, data: &str) -> Result<String, SignatureError> {
    let key_s = key.display().to_string();
    let out = ssh_keygen(
        &["-q", "-Y", "sign", "-f", &key_s, "-n", NAMESPACE],
        data.as_bytes(),
    )
    .await?;
    if !out.status.success() {
        return Err(SignatureError::SignFailed {
            key: key.to_path_buf(),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    String::from_utf8(out.stdout).map_err(|_| SignatureError::NotUtf8)
}

/// Does `signature` by `person` over `data` verify against `allowed`?
pub async fn verify(
    allowed: &Path,
    person: &str,
    signature: &str,
    data: &str,
) -> Result<Verdict, SignatureError> {
    let allowed_s = allowed.display().to_string();
    let out = with_signature_file(
        signature,
        &[
            "-Y", "verify", "-f", &allowed_s, "-I", person, "-n", NAMESPACE,
        ],
        data.as_bytes(),
    )
    .await?;
    if out.status.success() {
        return Ok(Verdict::Valid);
    }
    let why = String::from_utf8_lossy(&out.stderr);
    let why = why.lines().next().unwrap_or("").trim().to_string();
    Ok(Verdict::Bad(if why.is_empty() {
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    } else {
        why
    }))
}

/// The `allowed_signers` principal of the key that made `signature`
/// (`ssh-keygen -Y find-principals`); an error when the key is not listed.
pub async fn find_principal(allowed: &Path, signature: &str) -> Result<String, SignatureError> {
    let allowed_s = allowed.display().to_string();
    let out =
        with_signature_file(signature, &["-Y", "find-principals", "-f", &allowed_s], b"").await?;
    let found = String::from_utf8_lossy(&out.stdout);
    match found.lines().map(str::trim).find(|l| !l.is_empty()) {
        Some(p) if out.status.success() => Ok(p.to_string()),
        _ => Err(SignatureError::NotListed {
            allowed: allowed.to_path_buf(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keygen(dir: &Path) -> PathBuf {
        let key = dir.join("id");
        let ok = std::process::Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-f"])
            .arg(&key)
            .status()
            .unwrap();
        assert!(ok.success());
        key
    }

    fn leftovers() -> usize {
        let prefix = format!("flightdeck-signoff-{}-", std::process::id());
        std::fs::read_dir(std::env::temp_dir())
            .unwrap()
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
            .count()
    }

    #[tokio::test]
    async fn a_signature_names_its_principal_and_verifies_only_its_data() {
        let dir = tempfile::tempdir().unwrap();
        let key = keygen(dir.path());
        let allowed = dir.path().join("allowed_signers");
        let sig = sign(&key, "record").await.unwrap();
        // Not listed yet: no principal.
        std::fs::write(&allowed, "").unwrap();
        assert!(matches!(
            find_principal(&allowed, &sig).await,
            Err(SignatureError::NotListed { .. })
        ));
        let public = std::fs::read_to_string(dir.path().join("id.pub")).unwrap();
        std::fs::write(&allowed, format!("bob {public}")).unwrap();
        assert_eq!(find_principal(&allowed, &sig).await.unwrap(), "bob");
        assert_eq!(
            verify(&allowed, "bob", &sig, "record").await.unwrap(),
            Verdict::Valid
        );
        assert!(matches!(
            verify(&allowed, "bob", &sig, "another record")
                .await
                .unwrap(),
            Verdict::Bad(_)
        ));
        assert!(matches!(
            verify(&allowed, "carol", &sig, "record").await.unwrap(),
            Verdict::Bad(_)
        ));
        assert_eq!(leftovers(), 0, "signature files are removed");
    }

    #[tokio::test]
    async fn a_missing_key_is_a_sign_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope");
        let e = sign(&missing, "record").await.unwrap_err();
        assert!(matches!(e, SignatureError::SignFailed { .. }), "{e:?}");
        assert!(e.to_string().contains("ssh-keygen -Y sign with"), "{e}");
        assert!(e.to_string().contains("nope"), "{e}");
    }
}
