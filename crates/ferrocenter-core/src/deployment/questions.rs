//! Questions a setup asks where a real decision is needed (`deployment.question`): the setup
//! waits in QUESTION_RAISED until `answer`, or takes the default at once with `auto_answer`.
use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

use crate::appliance::health::Text;
use crate::auth::{Caller, Privilege};
use crate::{Core, CoreError};

use super::{ApplianceState, StepStatus};

/// `deployment.question.question_type`: which answers a question takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum QuestionType {
    YesNo,
    OkCancel,
    AbortRetryIgnore,
}

impl QuestionType {
    pub fn as_str(self) -> &'static str {
        match self {
            QuestionType::YesNo => "YES_NO",
            QuestionType::OkCancel => "OK_CANCEL",
            QuestionType::AbortRetryIgnore => "ABORT_RETRY_IGNORE",
        }
    }

    pub fn answers(self) -> &'static [&'static str] {
        match self {
            QuestionType::YesNo => &["YES", "NO"],
            QuestionType::OkCancel => &["OK", "CANCEL"],
            QuestionType::AbortRetryIgnore => &["ABORT", "RETRY", "IGNORE"],
        }
    }
}

/// `deployment.question.question`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Question {
    pub id: String,
    pub question: Text,
    #[serde(rename = "type")]
    pub kind: QuestionType,
    pub default_answer: String,
}

impl Question {
    pub fn new(id: &str, kind: QuestionType, default_answer: &str, question: Text) -> Question {
        Question {
            id: id.to_string(),
            question,
            kind,
            default_answer: default_answer.to_string(),
        }
    }

    pub fn possible_answers(&self) -> Vec<String> {
        self.kind
            .answers()
            .iter()
            .map(ToString::to_string)
            .collect()
    }
}

/// The question a setup waits on, and where its answer goes.
pub(crate) struct Pending {
    id: String,
    reply: oneshot::Sender<String>,
}

impl Core {
    /// Asks `q` during a setup: its default at once with `auto_answer`, else the answer a
    /// client gives (the deployment is QUESTION_RAISED meanwhile). A cancel while waiting
    /// ends the wait with `Cancelled`.
    pub(crate) async fn ask(
        &self,
        q: Question,
        auto_answer: bool,
        cancel: &CancellationToken,
    ) -> Result<String, CoreError> {
        if auto_answer {
            tracing::info!(question = %q.id, answer = %q.default_answer, "setup question answered by default");
            return Ok(q.default_answer);
        }
        let (reply, answer) = oneshot::channel();
        *self.deployment.answers.lock() = Some(Pending {
            id: q.id.clone(),
            reply,
        });
        let id = q.id.clone();
        self.update_deployment(|d| {
            d.state = ApplianceState::QuestionRaised;
            d.status = StepStatus::Blocked;
            d.questions = vec![q];
        })
        .await?;
        let answered = tokio::select! {
            a = answer => a.map_err(|_| CoreError::internal("the question's answer was lost")),
            () = cancel.cancelled() => Err(CoreError::Cancelled {
                message: format!("the setup was cancelled while the question '{id}' waited"),
            }),
        };
        *self.deployment.answers.lock() = None;
        self.update_deployment(|d| {
            if d.state == ApplianceState::QuestionRaised {
                d.state = ApplianceState::ConfigInProgress;
                d.status = StepStatus::Running;
            }
            d.questions.clear();
        })
        .await?;
        let a = answered?;
        tracing::info!(question = %id, answer = %a, "setup question answered");
        Ok(a)
    }

    /// `deployment.question.get`: the questions waiting (QUESTION_RAISED only).
    pub async fn deployment_questions(&self, caller: &Caller) -> Result<Vec<Question>, CoreError> {
        self.auth
            .authorize(caller, Privilege::ApplianceManageAccounts)?;
        let d = self.deployment_get(caller).await?;
        if d.state != ApplianceState::QuestionRaised {
            return Err(no_question(d.state));
        }
        Ok(d.questions)
    }

    /// `deployment.question.answer`.
    pub async fn deployment_answer(
        &self,
        caller: &Caller,
        question_id: &str,
        answer_val: &str,
    ) -> Result<(), CoreError> {
        let questions = self.deployment_questions(caller).await?;
        let Some(q) = questions.iter().find(|q| q.id == question_id) else {
            return Err(CoreError::invalid(
                "spec.question_id",
                format!(
                    "'{question_id}' is not the question raised; it is '{}'",
                    questions
                        .iter()
                        .map(|q| q.id.as_str())
                        .collect::<Vec<_>>()
                        .join("', '")
                ),
            ));
        };
        let answer = answer_val.trim().to_ascii_uppercase();
        if !q.kind.answers().contains(&answer.as_str()) {
            return Err(CoreError::invalid(
                "spec.answer_val",
                format!(
                    "'{answer_val}' does not answer a {} question; one of {}",
                    q.kind.as_str(),
                    q.kind.answers().join(", ")
                ),
            ));
        }
        let pending = self.deployment.answers.lock().take();
        match pending {
            Some(p) if p.id == question_id => {
                // The setup may have ended meanwhile (cancelled): then nobody waits.
                let _ = p.reply.send(answer);
                Ok(())
            }
            other => {
                *self.deployment.answers.lock() = other;
                Err(no_question(self.deployment_state()))
            }
        }
    }
}

fn no_question(state: ApplianceState) -> CoreError {
    CoreError::invalid_state(format!(
        "no question is raised: the deployment is {}",
        state.as_str()
    ))
}
