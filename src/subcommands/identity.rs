//! Naming the person of a sign-off (and the initiator of a release) as the
//! gate's identity mode asks: a claim, the SSH key's `allowed_signers`
//! principal, or the database session's role; and `verify`'s check that
//! every sign-off carries the evidence its gate required.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::signoff::signature::{self, SignatureError, Verdict};
use super::{EXIT_FAILED, EXIT_OK, Failure};
use crate::backend::store::{Backend, Store, StoreError};
use crate::runbook::gates::Signoff;
use crate::runbook::identity::{IdentityMode, signoff_record, start_record};
use crate::runbook::{Loaded, Runbook};
use crate::settings::Settings;

/// The team's `allowed_signers` (OpenSSH format) in the config dir.
pub fn allowed_signers(settings: &Settings) -> PathBuf {
    settings.config_dir.join("allowed_signers")
}

/// Why a person could not be named as a gate's identity mode asks.
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    #[error(
        "signed identity needs {} (OpenSSH allowed_signers: `principal key-type key` per line)",
        allowed.display()
    )]
    NoAllowedSigners { allowed: PathBuf },
    #[error(transparent)]
    Ssh(#[from] SignatureError),
    #[error("your signature does not verify as {principal}: {why}")]
    DoesNotVerify { principal: String, why: String },
    #[error(
        "gate {gate} needs a signed sign-off: set identity.ssh_key in flightdeck.toml to your SSH private key"
    )]
    NoKey { gate: String },
    #[error("gate {gate} uses database identity, which needs a PostgreSQL journal")]
    NotPostgres { gate: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl IdentityError {
    /// What the person can do about it, where there is something.
    pub fn suggestion(&self) -> Option<String> {
        Some(match self {
            IdentityError::NoAllowedSigners { allowed } => format!(
                "ask for the team's allowed_signers file at {}",
                allowed.display()
            ),
            IdentityError::Ssh(SignatureError::NotListed { .. }) => {
                "send your public key (.pub) to whoever keeps allowed_signers".into()
            }
            IdentityError::DoesNotVerify { .. } => {
                "check that identity.ssh_key is the key allowed_signers lists for you".into()
            }
            IdentityError::NoKey { .. } => {
                "identity.ssh_key = \"~/.ssh/id_ed25519\" in flightdeck.toml (`flightdeck paths` shows where)".into()
            }
            IdentityError::NotPostgres { .. } => {
                "use the team's PostgreSQL journal (--journal postgres://... or FLIGHTDECK_JOURNAL)".into()
            }
            IdentityError::Ssh(_) | IdentityError::Store(_) => return None,
        })
    }
}

impl From<IdentityError> for Failure {
    fn from(e: IdentityError) -> Failure {
        let suggestion = e.suggestion();
        let f = match e {
            IdentityError::Store(e) => return e.into(),
            other => Failure::invalid(other.to_string()),
        };
        match suggestion {
            Some(s) => f.suggest(s),
            None => f,
        }
    }
}

/// Sign `data` with `key` and name its principal (checked: the signature
/// must verify for that principal).
async fn principal_of(
    key: &Path,
    allowed: &Path,
    data: &str,
) -> Result<(String, String), IdentityError> {
    if !allowed.exists() {
        return Err(IdentityError::NoAllowedSigners {
            allowed: allowed.to_path_buf(),
        });
    }
    let sig = signature::sign(key, data).await?;
    let principal = signature::find_principal(allowed, &sig).await?;
    match signature::verify(allowed, &principal, &sig, data).await? {
        Verdict::Valid => Ok((principal, sig)),
        Verdict::Bad(why) => Err(IdentityError::DoesNotVerify { principal, why }),
    }
}

/// Set `s.person` as `mode` establishes it and return the signature to
/// store with it (signed mode; in claim mode an optional one when an SSH key
/// is configured). `FLIGHTDECK_USER` never changes a signed or database
/// person.
pub async fn bind_person(
    ssh_key: Option<&Path>,
    allowed: &Path,
    store: &Store,
    mode: IdentityMode,
    release_id: &str,
    s: &mut Signoff,
) -> Result<Option<String>, IdentityError> {
    match mode {
        IdentityMode::Claim => match ssh_key {
            Some(key) => Ok(Some(
                signature::sign(key, &signoff_record(release_id, s)).await?,
            )),
            None => Ok(None),
        },
        IdentityMode::Signed => {
            let key = ssh_key.ok_or_else(|| IdentityError::NoKey {
                gate: s.gate.clone(),
            })?;
            let (principal, sig) =
                principal_of(key, allowed, &signoff_record(release_id, s)).await?;
            s.person = principal;
            Ok(Some(sig))
        }
        IdentityMode::Database => {
            let who = store
                .session_user()
                .await?
                .ok_or_else(|| IdentityError::NotPostgres {
                    gate: s.gate.clone(),
                })?;
            s.person = who;
            Ok(None)
        }
    }
}

/// The identity a release's initiator needs: signed if any of its gates
/// in `environment` is signed, else database if any is, else a claim.
pub fn initiator_mode(rb: &Runbook, environment: &str) -> IdentityMode {
    let modes: Vec<IdentityMode> = rb
        .steps()
        .filter(|s| matches!(s.action, crate::runbook::StepAction::Gate(_)))
        .map(|s| rb.identity_mode(environment, &s.id))
        .collect();
    if modes.contains(&IdentityMode::Signed) {
        IdentityMode::Signed
    } else if modes.contains(&IdentityMode::Database) {
        IdentityMode::Database
    } else {
        IdentityMode::Claim
    }
}

/// Who starts a release: with signed gates, the principal of the
/// initiator's key (no key: the release does not start); with database
/// gates, the session's role; else the claimed name.
pub async fn initiator(
    settings: &Settings,
    store: &Store,
    loaded: &Loaded,
    release_id: &str,
    environment: &str,
) -> Result<String, Failure> {
    match initiator_mode(&loaded.runbook, environment) {
        IdentityMode::Claim => Ok(settings.person.clone()),
        IdentityMode::Signed => {
            let key = settings.ssh_key.as_deref().ok_or_else(|| {
                Failure::invalid(format!(
                    "{}: environment {environment} has gates with signed identity; its releases start only with your SSH key (identity.ssh_key in flightdeck.toml), which names you",
                    loaded.path.display()
                ))
            })?;
            let data = start_record(release_id, &loaded.runbook.name, environment);
            Ok(principal_of(key, &allowed_signers(settings), &data)
                .await?
                .0)
        }
        IdentityMode::Database => store
            .session_user()
            .await?
            .ok_or_else(|| {
                Failure::invalid(format!(
                    "{}: environment {environment} has gates with database identity, which needs a PostgreSQL journal",
                    loaded.path.display()
                ))
            }),
    }
}

/// `verify`: every sign-off whose gate requires signed identity carries a
/// signature over its whole record that verifies for its person against
/// `allowed_signers`; every one whose gate requires database identity was
/// recorded so and written by that person's role. Prints one line per
/// problem; the exit code to merge with the other verdicts.
pub async fn verify_identity(settings: &Settings, store: &Store) -> Result<i32, Failure> {
    let rows = store.signoff_identities().await?;
    let allowed = allowed_signers(settings);
    // Release -> (runbook, environment), loaded once.
    let mut releases: BTreeMap<String, Option<(Runbook, String)>> = BTreeMap::new();
    let mut bad = 0;
    let mut checked = 0;
    for row in &rows {
        if !releases.contains_key(&row.release_id) {
            let found = match store.load_release(&row.release_id).await? {
                Some(r) => match crate::runbook::load(Path::new(&r.runbook_path)) {
                    Ok(l) => Some((l.runbook, r.opened.environment)),
                    Err(_) => {
                        println!(
                            "identity of sign-offs in release {} checked as recorded: runbook {} unreadable",
                            r.id, r.runbook_path
                        );
                        None
                    }
                },
                None => None,
            };
            releases.insert(row.release_id.clone(), found);
        }
        let s = &row.signoff;
        let required = match &releases[&row.release_id] {
            Some((rb, env)) => rb.identity_mode(env, &s.gate),
            None => IdentityMode::parse(&row.identity).unwrap_or_default(),
        };
        let who = format!(
            "{}'s sign-off of gate {} in release {}",
            s.person, s.gate, row.release_id
        );
        match required {
            IdentityMode::Claim => continue,
            IdentityMode::Signed => {
                checked += 1;
                let Some(sig) = &row.signature else {
                    bad += 1;
                    println!("signature MISSING: {who} (the gate requires signed identity)");
                    continue;
                };
                if !allowed.exists() {
                    bad += 1;
                    println!("signature NOT checked: {who}: no {}", allowed.display());
                    continue;
                }
                let data = signoff_record(&row.release_id, s);
                if let Verdict::Bad(why) =
                    signature::verify(&allowed, &s.person, sig, &data).await?
                {
                    bad += 1;
                    println!("signature BAD: {who}: {why}");
                }
            }
            IdentityMode::Database => {
                checked += 1;
                if store.backend() != Backend::Postgres {
                    bad += 1;
                    println!(
                        "database identity NOT possible: {who}: the journal is not PostgreSQL"
                    );
                } else if row.identity != "database" || row.db_user.as_deref() != Some(&s.person) {
                    bad += 1;
                    println!(
                        "database identity NOT proven: {who} was written by role {} as a {} sign-off",
                        row.db_user.as_deref().unwrap_or("?"),
                        row.identity
                    );
                }
            }
        }
    }
    if bad > 0 {
        return Ok(EXIT_FAILED);
    }
    if checked > 0 {
        println!("sign-off identities as required: {checked}");
    }
    Ok(EXIT_OK)
}

/// Signatures already checked in this process (release, record, signature
/// digest): a refresh every second must not run ssh-keygen every time.
fn verified_cache() -> &'static std::sync::Mutex<std::collections::HashSet<String>> {
    static CACHE: std::sync::OnceLock<std::sync::Mutex<std::collections::HashSet<String>>> =
        std::sync::OnceLock::new();
    CACHE.get_or_init(Default::default)
}

/// Does this row carry the evidence its gate's mode requires?
async fn has_evidence(allowed: &Path, mode: IdentityMode, row: &SignoffRow<'_>) -> bool {
    let s = row.signoff;
    match mode {
        IdentityMode::Claim => true,
        IdentityMode::Database => {
            row.identity == "database" && row.db_user == Some(s.person.as_str())
        }
        IdentityMode::Signed => {
            let Some(sig) = row.signature else {
                return false;
            };
            let data = signoff_record(row.release_id, s);
            let key = format!("{}\u{0}{data}\u{0}{}\u{0}{sig}", row.release_id, s.person);
            if verified_cache()
                .lock()
                .map(|c| c.contains(&key))
                .unwrap_or(false)
            {
                return true;
            }
            let ok = matches!(
                signature::verify(allowed, &s.person, sig, &data).await,
                Ok(Verdict::Valid)
            );
            if ok && let Ok(mut c) = verified_cache().lock() {
                c.insert(key);
            }
            ok
        }
    }
}

struct SignoffRow<'a> {
    release_id: &'a str,
    signoff: &'a Signoff,
    signature: Option<&'a str>,
    identity: &'a str,
    db_user: Option<&'a str>,
}

/// The sign-offs that may count for the driver: those of gates whose mode
/// is a claim, and those of signed or database gates that carry valid
/// evidence (a row written straight into the table without it never opens
/// a gate). Cheap when no gate of `environment` needs more than a claim.
pub async fn admissible(
    store: &Store,
    allowed: &Path,
    rb: &Runbook,
    environment: &str,
    release_id: &str,
    signoffs: Vec<Signoff>,
) -> Vec<Signoff> {
    let strict = |s: &Signoff| rb.identity_mode(environment, &s.gate) != IdentityMode::Claim;
    if !signoffs.iter().any(strict) {
        return signoffs;
    }
    let rows = match store.release_signoff_identities(release_id).await {
        Ok(rows) => rows,
        Err(e) => {
            tracing::warn!("reading sign-off identities failed: {e}; counting claims only");
            return signoffs.into_iter().filter(|s| !strict(s)).collect();
        }
    };
    let mut out = Vec::new();
    for s in signoffs {
        let mode = rb.identity_mode(environment, &s.gate);
        let mut ok = mode == IdentityMode::Claim;
        for row in rows.iter().filter(|r| r.signoff == s) {
            if ok {
                break;
            }
            let view = SignoffRow {
                release_id,
                signoff: &row.signoff,
                signature: row.signature.as_deref(),
                identity: &row.identity,
                db_user: row.db_user.as_deref(),
            };
            ok = has_evidence(allowed, mode, &view).await;
        }
        if ok {
            out.push(s);
        } else {
            tracing::warn!(
                "{}'s sign-off of gate {} in release {release_id} lacks the {} identity its gate requires; not counted",
                s.person,
                s.gate,
                mode.as_str()
            );
        }
    }
    out
}

/// How each sign-off of a release named its person, for `show`/`report`
/// (TRUST.md: say which identity a sign-off had).
/// The identity evidence of the release's sign-offs as the audit log
/// records them: a `signoffs` row that no verified entry explains is not
/// shown (`verify` names it).
pub async fn report_rows(
    store: &Store,
    release: &crate::backend::store::StoredRelease,
) -> Result<Vec<crate::backend::store::identity::SignoffIdentity>, Failure> {
    let rows = store.release_signoff_identities(&release.id).await?;
    Ok(rows
        .into_iter()
        .filter(|row| release.signoffs.contains(&row.signoff))
        .collect())
}

pub fn markdown(rows: &[crate::backend::store::identity::SignoffIdentity]) -> String {
    if rows.is_empty() {
        return String::new();
    }
    let mut s = String::from(
        "\n## Sign-off identity\n\n| gate | person | identity | evidence |\n|---|---|---|---|\n",
    );
    for r in rows {
        s.push_str(&format!(
            "| {} | {} | {} | {} |\n",
            r.signoff.gate,
            r.signoff.person,
            r.identity,
            evidence(r)
        ));
    }
    s
}

fn evidence(r: &crate::backend::store::identity::SignoffIdentity) -> String {
    let mut parts = Vec::new();
    if r.signature.is_some() {
        parts.push("SSH signature".to_string());
    }
    if let Some(u) = &r.db_user {
        parts.push(format!("written by database role {u}"));
    }
    if parts.is_empty() {
        "none (a claim)".into()
    } else {
        parts.join(", ")
    }
}

pub fn json(rows: &[crate::backend::store::identity::SignoffIdentity]) -> serde_json::Value {
    rows.iter()
        .map(|r| {
            serde_json::json!({
                "gate": r.signoff.gate,
                "person": r.signoff.person,
                "identity": r.identity,
                "signed": r.signature.is_some(),
                "db_user": r.db_user,
            })
        })
        .collect()
}
