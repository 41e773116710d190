//! What a release's steps run with, and which of it is secret: one part of
//! `AppState`.

use std::collections::BTreeMap;

use crate::runbook::secrets::SecretSet;

#[derive(Debug, Clone, Default)]
pub struct Values {
    /// `${env.X}` values: the process environment plus the environment's vars.
    pub env: BTreeMap<String, String>,
    /// Values of `vars` from the runbook environment, passed to commands.
    pub env_vars: BTreeMap<String, String>,
    pub flightdeck_bin: String,
    /// Values never shown (see `app::secrets`): every text entering from a
    /// backend is masked with this before any sink sees it.
    pub secrets: SecretSet,
    /// Secret inputs as the journal keeps them: name -> salted hash.
    pub sealed_inputs: BTreeMap<String, String>,
}
