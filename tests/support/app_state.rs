//! One `AppState` fixture for the update and screen tests: a new release of
//! a runbook, started by alice on ops-1, at t = 1000 ms, unless told
//! otherwise. Included with `#[path = "support/app_state.rs"] mod app_state;`.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use flightdeck::app::keymap::Keymap;
use flightdeck::app::setup::Setup;
use flightdeck::app::state::{AppState, Identity};
use flightdeck::protocol::output::OutputBuffer;
use flightdeck::runbook::Loaded;
use flightdeck::runbook::progress::Release;

type Prepare = Box<dyn FnOnce(&mut Release)>;

pub struct StateBuilder {
    loaded: Loaded,
    runbook_path: String,
    release_id: String,
    environment: String,
    inputs: BTreeMap<String, String>,
    initiator: String,
    runbook_hash: Option<String>,
    release: Option<Release>,
    prepare: Vec<Prepare>,
    person: String,
    host: String,
    process_env: BTreeMap<String, String>,
    bin: String,
    acks: BTreeSet<String>,
    outputs: Vec<OutputBuffer>,
    now: i64,
}

impl StateBuilder {
    /// A runbook file, relative to the crate root (e.g. `config/runbooks/demo.yaml`).
    pub fn file(path: impl AsRef<Path>) -> StateBuilder {
        let path = path.as_ref();
        let loaded = flightdeck::runbook::load(path).unwrap_or_else(|e| panic!("{e}"));
        let shown = path.display().to_string();
        StateBuilder::loaded(loaded, &shown)
    }

    /// Runbook text, named `file` in messages and as the runbook path.
    pub fn yaml(text: &str, file: &str) -> StateBuilder {
        let loaded =
            flightdeck::runbook::parse_str(text, Path::new(file)).unwrap_or_else(|e| panic!("{e}"));
        StateBuilder::loaded(loaded, file)
    }

    pub fn loaded(loaded: Loaded, runbook_path: &str) -> StateBuilder {
        StateBuilder {
            loaded,
            runbook_path: runbook_path.to_string(),
            release_id: "r-test".into(),
            environment: "default".into(),
            inputs: BTreeMap::new(),
            initiator: "alice".into(),
            runbook_hash: None,
            release: None,
            prepare: Vec::new(),
            person: "alice".into(),
            host: "ops-1".into(),
            process_env: BTreeMap::new(),
            bin: "/usr/bin/flightdeck".into(),
            acks: BTreeSet::new(),
            outputs: Vec::new(),
            now: 1_000,
        }
    }

    pub fn runbook_path(mut self, path: &str) -> Self {
        self.runbook_path = path.into();
        self
    }
    pub fn release_id(mut self, id: &str) -> Self {
        self.release_id = id.into();
        self
    }
    pub fn env(mut self, environment: &str) -> Self {
        self.environment = environment.into();
        self
    }
    /// An input given on the command line (the rest take their defaults).
    pub fn input(mut self, name: &str, value: &str) -> Self {
        self.inputs.insert(name.into(), value.into());
        self
    }
    pub fn initiator(mut self, person: &str) -> Self {
        self.initiator = person.into();
        self
    }
    /// The runbook hash the release records (default: the file's).
    pub fn runbook_hash(mut self, hash: &str) -> Self {
        self.runbook_hash = Some(hash.into());
        self
    }
    /// Use this release as it is (id, environment, inputs and initiator
    /// set above are then not used).
    pub fn release(mut self, release: Release) -> Self {
        self.release = Some(release);
        self
    }
    /// Change the release before the state is made (steps done, sign-offs).
    pub fn prepare(mut self, f: impl FnOnce(&mut Release) + 'static) -> Self {
        self.prepare.push(Box::new(f));
        self
    }
    /// Who sits at this terminal (default alice, the initiator).
    pub fn person(mut self, person: &str) -> Self {
        self.person = person.into();
        self
    }
    pub fn host(mut self, host: &str) -> Self {
        self.host = host.into();
        self
    }
    pub fn process_env(mut self, name: &str, value: &str) -> Self {
        self.process_env.insert(name.into(), value.into());
        self
    }
    pub fn bin(mut self, bin: &str) -> Self {
        self.bin = bin.into();
        self
    }
    pub fn ack(mut self, step: &str) -> Self {
        self.acks.insert(step.into());
        self
    }
    pub fn outputs(mut self, outputs: Vec<OutputBuffer>) -> Self {
        self.outputs = outputs;
        self
    }
    pub fn now(mut self, now: i64) -> Self {
        self.now = now;
        self
    }

    pub fn runbook(&self) -> &flightdeck::runbook::Runbook {
        &self.loaded.runbook
    }

    /// The release this builder starts (before `prepare`).
    pub fn new_release(&self) -> Release {
        let inputs = flightdeck::runbook::inputs::resolve(&self.loaded.runbook, &self.inputs)
            .unwrap_or_else(|e| panic!("inputs: {e:?}"));
        Release::new(
            self.release_id.clone(),
            &self.loaded.runbook,
            self.runbook_hash
                .clone()
                .unwrap_or_else(|| self.loaded.content_hash.clone()),
            self.environment.clone(),
            inputs,
            self.initiator.clone(),
            self.now,
        )
    }

    pub fn setup(mut self) -> Setup {
        let mut release = self.release.take().unwrap_or_else(|| self.new_release());
        for f in self.prepare.drain(..) {
            f(&mut release);
        }
        Setup {
            runbook: self.loaded.runbook,
            runbook_path: self.runbook_path,
            release,
            identity: Identity {
                person: self.person,
                host: self.host,
            },
            process_env: self.process_env,
            flightdeck_bin: self.bin,
            keymap: Keymap::defaults(),
            acks: self.acks,
            outputs: self.outputs,
            now: self.now,
        }
    }

    pub fn build(self) -> AppState {
        AppState::new(self.setup())
    }
}
