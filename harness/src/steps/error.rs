//! Why a step failed, by kind: what SEND answered, what an earlier step left undone, what the
//! Ente profile lacks, what a test case requires and SEND's answer does not meet.

use crate::client::ClientError;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum StepError {
    /// SEND gave no answer, an unexpected status or an answer outside its schema.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// The step needs what an earlier step should have produced.
    #[error("{0}")]
    Earlier(&'static str),
    /// A file the step needs was not uploaded by an earlier step.
    #[error("no {0} uploaded in an earlier step")]
    NotUploaded(String),
    /// The Ente profile cannot run this step as written.
    #[error("the Ente profile {0}")]
    Profile(String),
    /// A file the profile names could not be read.
    #[error("{field} {}: {source}", path.display())]
    File {
        field: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// SEND answered, and the answer breaks what the test case requires.
    #[error("{0}")]
    Check(String),
    /// What a step waits for did not happen in the target's time.
    #[error("{what}: not reached within {within} (last seen: {seen})")]
    Timeout {
        what: String,
        within: String,
        seen: String,
    },
}

impl StepError {
    /// A failed check, as it reads in the report.
    pub fn check(reason: impl Into<String>) -> StepError {
        StepError::Check(reason.into())
    }
}

/// A step's outcome.
pub type StepResult<T = ()> = Result<T, StepError>;
