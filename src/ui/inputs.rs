//! The release's inputs as screens show them.

use crate::app::state::AppState;

/// The release's inputs as `name=value`, as any screen shows them: sealed
/// (secret) inputs as dots, others masked (they may hold a URL password).
pub fn shown(state: &AppState) -> Vec<String> {
    state
        .release
        .inputs
        .iter()
        .map(|(k, v)| {
            if state.values.sealed_inputs.contains_key(k) {
                format!("{k}=••••••")
            } else {
                format!("{k}={}", state.values.secrets.mask(v))
            }
        })
        .collect()
}
