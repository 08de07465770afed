//! Ordered steps with undo: each step that changes something registers how to take it back, and
//! a failure unwinds the registered undos in reverse, so a flow leaves nothing half-done.
use std::future::Future;
use std::pin::Pin;

use tracing::warn;

use crate::CoreError;

type UndoFuture = Pin<Box<dyn Future<Output = Result<(), CoreError>> + Send>>;

#[derive(Default)]
pub struct Saga {
    undo: Vec<(&'static str, UndoFuture)>,
}

impl Saga {
    pub fn new() -> Saga {
        Saga::default()
    }

    /// Registers how to undo the step just done. The future runs only if the flow fails.
    pub fn on_undo<F>(&mut self, step: &'static str, undo: F)
    where
        F: Future<Output = Result<(), CoreError>> + Send + 'static,
    {
        self.undo.push((step, Box::pin(undo)));
    }

    /// Runs the undos in reverse order; an undo that fails is logged and the rest still run.
    pub async fn unwind(self) {
        for (step, undo) in self.undo.into_iter().rev() {
            if let Err(e) = undo.await {
                warn!(step, error = %e, "undo of a step failed");
            }
        }
    }

    /// Ends the flow: on error, unwinds and passes the error on.
    pub async fn finish<T>(self, r: Result<T, CoreError>) -> Result<T, CoreError> {
        if r.is_err() {
            self.unwind().await;
        }
        r
    }
}
