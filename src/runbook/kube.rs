//! Kubernetes step kinds: rollouts, waits, patches, restarts, scales, undo.

#[derive(Debug, Clone, PartialEq)]
pub enum KubeAction {}

/// `check: { kube: ... }`
#[derive(Debug, Clone, PartialEq)]
pub enum KubeCheck {}

impl KubeAction {
    pub fn kind_name(&self) -> &'static str {
        match *self {}
    }
}

impl KubeCheck {
    pub fn kind_name(&self) -> &'static str {
        match *self {}
    }
}
