//! `verify`'s check of SSH-signed sign-offs against `allowed_signers`.

use super::signature::{self, Verdict};
use crate::backend::store::Store;
use crate::runbook::identity::signoff_record;
use crate::settings::Settings;
use crate::subcommands::{EXIT_FAILED, EXIT_OK, Failure, identity, out};

/// Check every signed sign-off against `allowed_signers` in the config dir.
/// Prints one line per problem; returns the exit code to merge with the
/// audit verdict.
pub async fn verify_signatures(settings: &Settings, store: &Store) -> Result<i32, Failure> {
    let signed: Vec<_> = store
        .all_signoffs()
        .await?
        .into_iter()
        .filter(|s| s.signature.is_some())
        .collect();
    if signed.is_empty() {
        return Ok(EXIT_OK);
    }
    let allowed = identity::allowed_signers(settings);
    if !allowed.exists() {
        out::say(format!(
            "{} signed sign-offs NOT checked: no {} (OpenSSH allowed_signers: `person key-type key` per line)",
            signed.len(),
            allowed.display()
        ));
        return Ok(EXIT_FAILED);
    }
    let mut bad = 0;
    for s in &signed {
        let sig = s.signature.as_deref().unwrap_or_default();
        // Over the whole sign-off record; older signatures covered only
        // the approved hash.
        let record = signoff_record(&s.release_id, &s.signoff);
        let mut verdict = signature::verify(&allowed, &s.signoff.person, sig, &record).await?;
        if verdict != Verdict::Valid {
            verdict = signature::verify(&allowed, &s.signoff.person, sig, &s.signoff.approved_hash)
                .await?;
        }
        if let Verdict::Bad(why) = verdict {
            bad += 1;
            out::say(format!(
                "signature BAD: {}'s sign-off of gate {} in release {}: {why}",
                s.signoff.person, s.signoff.gate, s.release_id
            ));
        }
    }
    if bad == 0 {
        out::say(format!("sign-off signatures valid: {}", signed.len()));
        Ok(EXIT_OK)
    } else {
        Ok(EXIT_FAILED)
    }
}
