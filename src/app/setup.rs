//! Building the initial `AppState` for a new or resumed release.

use std::collections::{BTreeMap, BTreeSet};

use super::keymap::Keymap;
use super::state::{AppState, Identity, journaled_inputs};
use crate::protocol::output::OutputBuffer;
use crate::runbook::Runbook;
use crate::runbook::gates::approval_hash;
use crate::runbook::progress::Release;

pub struct Setup {
    pub runbook: Runbook,
    pub runbook_path: String,
    pub release: Release,
    pub identity: Identity,
    /// The process environment, read once at start.
    pub process_env: BTreeMap<String, String>,
    pub flightdeck_bin: String,
    pub keymap: Keymap,
    /// Manual steps acknowledged before they run (`--ack`).
    pub acks: BTreeSet<String>,
    /// Output restored from the journal, per step (empty for a new release).
    pub outputs: Vec<OutputBuffer>,
    pub now: i64,
}

impl AppState {
    pub fn new(s: Setup) -> AppState {
        let env_vars = s
            .runbook
            .environment(&s.release.environment)
            .map(|e| e.vars.clone())
            .unwrap_or_default();
        let mut env = s.process_env;
        env.extend(env_vars.clone());
        // A fresh salt; `session` puts the journal's seals in place of
        // these when it resumes a release.
        let sealed_inputs =
            super::secrets::seal_inputs(&s.runbook, &s.release.inputs, &super::secrets::new_salt());
        let approval_hash = approval_hash(
            &s.release.runbook_hash,
            &s.release.environment,
            &journaled_inputs(&s.release.inputs, &sealed_inputs),
        );
        let mut outputs = s.outputs;
        outputs.resize(s.release.steps.len(), OutputBuffer::default());
        let selected = s.release.current(&s.runbook).unwrap_or(0);
        let point_of_no_return = super::data_hooks::point_of_no_return(&s.runbook, &s.release);
        let mut state = AppState {
            runbook: s.runbook,
            runbook_path: s.runbook_path,
            release: s.release,
            identity: s.identity,
            values: super::state::Values {
                env,
                env_vars,
                flightdeck_bin: s.flightdeck_bin,
                secrets: Default::default(),
                sealed_inputs,
            },
            outputs,
            auto: false,
            acks: s.acks,
            now: s.now,
            journal_error: None,
            approval_hash,
            end_recorded: false,
            point_of_no_return,
            view: super::state::ViewState::new(selected, s.keymap),
            plumbing: Default::default(),
            team: Default::default(),
            kube: Default::default(),
            content: Default::default(),
            processes: Default::default(),
            plan: Default::default(),
        };
        state.view.titles = state
            .runbook
            .steps()
            .map(|st| state.render_text(&st.title))
            .collect();
        state.values.secrets = super::secrets::release_secrets(&state);
        state
    }
}
