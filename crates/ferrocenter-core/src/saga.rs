//! Flows as named steps. A step is a name, an action and an undo; a flow's steps share one state
//! value that each action fills in for the steps after it. When a step fails, the undos of the
//! steps already done run in reverse, so a flow leaves nothing half-done. Because every step is
//! named and listed, a test can make a flow fail after each step in turn and check what is left
//! behind (`drill`), and can run every action twice to show that a retried step does no harm.
use std::future::Future;
use std::pin::Pin;

use tracing::warn;

use crate::tasks::TaskContext;
use crate::CoreError;

/// What an action or an undo returns: it borrows the flow's state while it runs.
pub type StepFuture<'a> = Pin<Box<dyn Future<Output = Result<(), CoreError>> + Send + 'a>>;

/// An action or an undo over the flow's state.
pub type StepFn<S> = for<'a> fn(&'a mut S) -> StepFuture<'a>;

/// One named step of a flow.
pub struct Step<S> {
    /// Stable name, used in logs and by the step-failure drill.
    pub name: &'static str,
    /// What the task's progress says while the step runs.
    pub note: &'static str,
    pub action: StepFn<S>,
    /// Takes back what a successful action did; `None` for steps that change nothing outside
    /// the state. An action that fails must leave nothing behind itself.
    pub undo: Option<StepFn<S>>,
}

/// A flow: its steps in order.
pub struct Saga<S: 'static> {
    pub name: &'static str,
    pub steps: &'static [Step<S>],
}

/// How a drill disturbs a run (tests only; a real run has neither).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Drill {
    /// Fail right after the step at this index has succeeded.
    pub fail_after: Option<usize>,
    /// Run every action a second time after it succeeded.
    pub twice: bool,
    /// Stop right after the step at this index has succeeded, undoing nothing: what a killed
    /// process leaves for recovery at the next start.
    pub crash_after: Option<usize>,
}

/// The error a drill injects after a step.
pub(crate) fn injected_failure(step: &str) -> CoreError {
    CoreError::internal(format!("injected failure after step {step}"))
}

impl<S: Send + 'static> Saga<S> {
    /// Runs the steps in order, reporting each step's note as the task's progress (5 % to 95 %)
    /// and stopping between steps if the task is asked to stop; on failure the undos of the
    /// steps done run in reverse and the failure is returned.
    pub async fn run(&self, state: &mut S, ctx: Option<&TaskContext>) -> Result<(), CoreError> {
        self.run_drilled(state, ctx, Drill::default()).await
    }

    #[cfg_attr(not(any(test, feature = "test-support")), allow(dead_code))]
    pub(crate) async fn run_drilled(
        &self,
        state: &mut S,
        ctx: Option<&TaskContext>,
        drill: Drill,
    ) -> Result<(), CoreError> {
        let n = self.steps.len().max(1);
        for (i, step) in self.steps.iter().enumerate() {
            if let Some(ctx) = ctx {
                let stopped = ctx.check();
                if let Err(e) = stopped {
                    self.unwind(state, i).await;
                    return Err(e);
                }
                let pct = 5 + 90 * i / n;
                ctx.progress(u8::try_from(pct).unwrap_or(95), step.note)
                    .await;
            }
            let started = std::time::Instant::now();
            let mut r = (step.action)(state).await;
            if r.is_ok() && drill.twice {
                r = (step.action)(state).await;
            }
            tracing::debug!(
                saga = self.name,
                step = step.name,
                micros = started.elapsed().as_micros() as u64,
                "saga step"
            );
            if let Err(e) = r {
                // Only the steps that succeeded are undone: a failing action leaves nothing of
                // its own (its undo could take back what another flow made, e.g. a host record
                // whose client-chosen id was already taken).
                self.unwind(state, i).await;
                return Err(e);
            }
            if drill.fail_after == Some(i) {
                self.unwind(state, i + 1).await;
                return Err(injected_failure(step.name));
            }
            if drill.crash_after == Some(i) {
                return Err(CoreError::internal(format!(
                    "injected crash after step {}",
                    step.name
                )));
            }
        }
        Ok(())
    }

    /// Undoes the first `done` steps, last first; an undo that fails is logged and the rest
    /// still run.
    async fn unwind(&self, state: &mut S, done: usize) {
        for step in self.steps[..done].iter().rev() {
            if let Some(undo) = step.undo {
                if let Err(e) = undo(state).await {
                    warn!(saga = self.name, step = step.name, error = %e, "undo of a step failed");
                }
            }
        }
    }

    /// Runs every step's undo, last first, for a run a killed process cut short: each undo
    /// takes back only what the state (rebuilt from what was persisted) says was done.
    pub(crate) async fn take_back(&self, state: &mut S) {
        self.unwind(state, self.steps.len()).await;
    }

    /// The steps' names, in order.
    pub fn step_names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.steps.iter().map(|s| s.name)
    }
}

/// Drills set on a core through the `test-support` feature: flow name → how to disturb its
/// next runs. Not compiled into a production build.
#[cfg(feature = "test-support")]
pub(crate) type Drills = std::sync::Mutex<std::collections::HashMap<&'static str, Drill>>;

impl crate::Core {
    /// Runs a flow's saga; with the `test-support` feature, under the drill set for it.
    pub(crate) async fn run_saga<S: Send + 'static>(
        &self,
        saga: &Saga<S>,
        state: &mut S,
        ctx: Option<&TaskContext>,
    ) -> Result<(), CoreError> {
        #[cfg(feature = "test-support")]
        {
            let drill = self
                .drills
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .get(saga.name)
                .copied()
                .unwrap_or_default();
            saga.run_drilled(state, ctx, drill).await
        }
        #[cfg(not(feature = "test-support"))]
        saga.run(state, ctx).await
    }

    /// Disturbs the next runs of the flow named `flow` (a saga's name) until set back to
    /// `Drill::default()`.
    #[cfg(feature = "test-support")]
    pub fn drill(&self, flow: &'static str, drill: Drill) {
        self.drills
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(flow, drill);
    }
}

/// Test support: run a saga failing after each step in turn, and once with every action twice.
#[cfg(test)]
pub(crate) mod drill {
    use std::future::Future;

    use super::{Drill, Saga};

    /// For each step: builds a fresh state with `fresh`, runs the saga failing right after that
    /// step, and asks `left_behind` what the failed run left (an empty list means nothing).
    /// Then runs the saga once more on a fresh state with every action done twice, which must
    /// succeed. Panics with the step and what it left if either check fails.
    pub(crate) async fn every_step<S, F, FFut, L, LFut>(
        saga: &Saga<S>,
        mut fresh: F,
        mut left_behind: L,
    ) -> S
    where
        S: Send + 'static,
        F: FnMut() -> FFut,
        FFut: Future<Output = S>,
        L: FnMut(&S) -> LFut,
        LFut: Future<Output = Vec<String>>,
    {
        for (i, name) in saga.step_names().enumerate() {
            let mut state = fresh().await;
            let drill = Drill {
                fail_after: Some(i),
                ..Drill::default()
            };
            let r = saga.run_drilled(&mut state, None, drill).await;
            assert!(
                r.is_err(),
                "{}: a failure injected after step {name} was not reported",
                saga.name
            );
            let left = left_behind(&state).await;
            assert!(
                left.is_empty(),
                "{}: failing after step {name} left behind: {}",
                saga.name,
                left.join("; ")
            );
        }
        let mut state = fresh().await;
        let drill = Drill {
            twice: true,
            ..Drill::default()
        };
        if let Err(e) = saga.run_drilled(&mut state, None, drill).await {
            panic!("{}: running every step twice failed: {e}", saga.name);
        }
        state
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    /// A toy flow over a set of "resources": each step adds one, each undo removes it.
    #[derive(Default)]
    struct Toy {
        held: BTreeSet<&'static str>,
        log: Vec<String>,
        fail_at: Option<&'static str>,
    }

    fn take(s: &mut Toy, what: &'static str) -> Result<(), CoreError> {
        s.log.push(format!("do {what}"));
        if s.fail_at == Some(what) {
            return Err(CoreError::internal(format!("{what} failed")));
        }
        s.held.insert(what);
        Ok(())
    }

    fn give_back(s: &mut Toy, what: &'static str) {
        s.log.push(format!("undo {what}"));
        s.held.remove(what);
    }

    fn a(s: &mut Toy) -> StepFuture<'_> {
        Box::pin(async move { take(s, "a") })
    }
    fn undo_a(s: &mut Toy) -> StepFuture<'_> {
        Box::pin(async move {
            give_back(s, "a");
            Ok(())
        })
    }
    fn b(s: &mut Toy) -> StepFuture<'_> {
        Box::pin(async move { take(s, "b") })
    }
    fn undo_b(s: &mut Toy) -> StepFuture<'_> {
        Box::pin(async move {
            give_back(s, "b");
            Err(CoreError::internal("undo of b fails, the rest still run"))
        })
    }
    /// Changes nothing, so it needs no undo; it can still fail.
    fn check(s: &mut Toy) -> StepFuture<'_> {
        Box::pin(async move {
            s.log.push("do check".into());
            if s.fail_at == Some("check") {
                return Err(CoreError::internal("check failed"));
            }
            Ok(())
        })
    }

    static TOY: Saga<Toy> = Saga {
        name: "toy",
        steps: &[
            Step {
                name: "a",
                note: "taking a",
                action: a,
                undo: Some(undo_a),
            },
            Step {
                name: "b",
                note: "taking b",
                action: b,
                undo: Some(undo_b),
            },
            Step {
                name: "check",
                note: "checking",
                action: check,
                undo: None,
            },
        ],
    };

    #[tokio::test]
    async fn a_failing_step_undoes_the_steps_before_it_in_reverse() {
        let mut s = Toy {
            fail_at: Some("check"),
            ..Toy::default()
        };
        let e = TOY.run(&mut s, None).await.unwrap_err();
        assert!(e.to_string().contains("check failed"), "{e}");
        assert!(s.held.is_empty());
        assert_eq!(
            s.log,
            ["do a", "do b", "do check", "undo b", "undo a"],
            "the undo of b failed and a's still ran"
        );
    }

    #[tokio::test]
    async fn a_run_that_succeeds_undoes_nothing() {
        let mut s = Toy::default();
        TOY.run(&mut s, None).await.unwrap();
        assert_eq!(s.held, BTreeSet::from(["a", "b"]));
        assert_eq!(s.log, ["do a", "do b", "do check"]);
    }

    #[tokio::test]
    async fn the_drill_passes_a_flow_whose_undos_are_complete() {
        let s = drill::every_step(
            &TOY,
            || async { Toy::default() },
            |s: &Toy| {
                let left: Vec<String> = s.held.iter().map(|h| (*h).to_string()).collect();
                async move { left }
            },
        )
        .await;
        assert_eq!(
            s.log,
            ["do a", "do a", "do b", "do b", "do check", "do check"],
            "every action ran twice"
        );
    }

    fn b_without_undo() -> Saga<Toy> {
        Saga {
            name: "toy without b's undo",
            steps: &[
                Step {
                    name: "a",
                    note: "taking a",
                    action: a,
                    undo: Some(undo_a),
                },
                Step {
                    name: "b",
                    note: "taking b",
                    action: b,
                    undo: None,
                },
            ],
        }
    }

    #[tokio::test]
    #[should_panic(expected = "failing after step b left behind: b")]
    async fn the_drill_fails_when_an_undo_is_missing() {
        drill::every_step(
            &b_without_undo(),
            || async { Toy::default() },
            |s: &Toy| {
                let left: Vec<String> = s.held.iter().map(|h| (*h).to_string()).collect();
                async move { left }
            },
        )
        .await;
    }
}
