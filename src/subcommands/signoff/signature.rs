//! Optional evidence signing with SSH keys: a sign-off carries
//! `ssh-keygen -Y sign -n flightdeck` over the approved hash, and `verify`
//! checks it with `ssh-keygen -Y verify` against `allowed_signers` in the
//! config dir (the OpenSSH format: `person key-type base64-key`).

use std::path::Path;
use std::process::Stdio;

use tokio::io::AsyncWriteExt;

/// The signature namespace: a flightdeck signature is never valid elsewhere.
pub const NAMESPACE: &str = "flightdeck";

async fn ssh_keygen(args: &[&str], stdin: &[u8]) -> Result<std::process::Output, String> {
    let mut child = tokio::process::Command::new("ssh-keygen")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("cannot run ssh-keygen: {e}"))?;
    if let Some(mut input) = child.stdin.take() {
        input
            .write_all(stdin)
            .await
            .map_err(|e| format!("ssh-keygen stdin: {e}"))?;
    }
    let out = tokio::time::timeout(std::time::Duration::from_secs(30), child.wait_with_output())
        .await
        .map_err(|_| "ssh-keygen did not answer in 30s (a passphrase prompt?)".to_string())?
        .map_err(|e| format!("ssh-keygen: {e}"))?;
    Ok(out)
}

/// Sign `data` (the approved hash) with the private key at `key`.
pub async fn sign(key: &Path, data: &str) -> Result<String, String> {
    let key_s = key.display().to_string();
    let out = ssh_keygen(
        &["-q", "-Y", "sign", "-f", &key_s, "-n", NAMESPACE],
        data.as_bytes(),
    )
    .await?;
    if !out.status.success() {
        return Err(format!(
            "ssh-keygen -Y sign with {key_s} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    String::from_utf8(out.stdout).map_err(|_| "ssh-keygen printed a non-UTF-8 signature".into())
}

/// Does `signature` by `person` over `data` verify against `allowed`?
/// `Ok(false)` with the reason when it does not.
pub async fn verify(
    allowed: &Path,
    person: &str,
    signature: &str,
    data: &str,
) -> Result<Result<(), String>, String> {
    let sig = std::env::temp_dir().join(format!(
        "flightdeck-signoff-{}-{:016x}.sig",
        std::process::id(),
        rand::random::<u64>()
    ));
    crate::private::write(&sig, signature).map_err(|e| format!("{}: {e}", sig.display()))?;
    let allowed_s = allowed.display().to_string();
    let sig_s = sig.display().to_string();
    let out = ssh_keygen(
        &[
            "-Y", "verify", "-f", &allowed_s, "-I", person, "-n", NAMESPACE, "-s", &sig_s,
        ],
        data.as_bytes(),
    )
    .await;
    let _ = std::fs::remove_file(&sig);
    let out = out?;
    Ok(if out.status.success() {
        Ok(())
    } else {
        let why = String::from_utf8_lossy(&out.stderr);
        let why = why.lines().next().unwrap_or("").trim().to_string();
        Err(if why.is_empty() {
            String::from_utf8_lossy(&out.stdout).trim().to_string()
        } else {
            why
        })
    })
}

/// The `allowed_signers` principal of the key that made `signature`
/// (`ssh-keygen -Y find-principals`); an error when the key is not listed.
pub async fn find_principal(allowed: &Path, signature: &str) -> Result<String, String> {
    let sig = std::env::temp_dir().join(format!(
        "flightdeck-principal-{}-{:016x}.sig",
        std::process::id(),
        rand::random::<u64>()
    ));
    std::fs::write(&sig, signature).map_err(|e| format!("{}: {e}", sig.display()))?;
    let allowed_s = allowed.display().to_string();
    let sig_s = sig.display().to_string();
    let out = ssh_keygen(
        &["-Y", "find-principals", "-f", &allowed_s, "-s", &sig_s],
        b"",
    )
    .await;
    let _ = std::fs::remove_file(&sig);
    let out = out?;
    let found = String::from_utf8_lossy(&out.stdout);
    match found.lines().map(str::trim).find(|l| !l.is_empty()) {
        Some(p) if out.status.success() => Ok(p.to_string()),
        _ => Err(format!(
            "your SSH key is not in {} (ask for it to be added: `PRINCIPAL key-type key` per line)",
            allowed.display()
        )),
    }
}
