//! Where a kube step's events and lines go.

use tokio::sync::mpsc::UnboundedSender;

use crate::protocol::event::BackendEvent;
use crate::protocol::kube::KubeEvent;
use crate::protocol::output::Stream;

/// Sends a step's kube events to the app.
#[derive(Debug, Clone)]
pub struct Reporter {
    pub step: usize,
    pub tx: UnboundedSender<BackendEvent>,
}

impl Reporter {
    /// False when the app is gone.
    pub fn send(&self, event: KubeEvent) -> bool {
        self.tx
            .send(BackendEvent::Kube {
                step: self.step,
                event,
            })
            .is_ok()
    }
}

pub type Sink<'a> = dyn FnMut(Stream, String) + Send + 'a;
