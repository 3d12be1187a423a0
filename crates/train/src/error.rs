//! Typed errors of the training protocols.

use thiserror::Error;

/// A training run that cannot start or continue.
#[derive(Debug, Error)]
#[error("{kind}")]
pub struct Error {
    pub kind: ErrorKind,
}

/// What went wrong.
#[derive(Debug, Error)]
pub enum ErrorKind {
    /// The image lacks something the protocol needs (a port, a population, a learning
    /// slot), or has it in the wrong shape; `message` names it.
    #[error("the image does not fit the {protocol} protocol: {message}")]
    Layout {
        protocol: &'static str,
        message: String,
    },
    /// The task's data does not fit the image (input width, class count).
    #[error("task `{task}` does not fit the image: {message}")]
    Task { task: String, message: String },
    /// Settings that cannot run (an e-prop run's sizes, rates or bit widths); `message`
    /// names the setting.
    #[error("invalid settings: {message}")]
    Settings { message: String },
    /// Loading the task's data failed.
    #[error(transparent)]
    Data(#[from] amine_tasks::Error),
    /// The simulator refused an input.
    #[error(transparent)]
    Sim(#[from] amine_sim::Error),
    /// Writing the report failed.
    #[error("{path}: {message}")]
    Io { path: String, message: String },
    /// The caller's stop flag (SIGINT, SIGTERM) ended the run; `message` says where and
    /// which checkpoint continues it.
    #[error("{message}")]
    Interrupted { message: String },
}

impl Error {
    pub fn new(kind: ErrorKind) -> Error {
        Error { kind }
    }
    pub(crate) fn layout(protocol: &'static str, message: impl Into<String>) -> Error {
        Error::new(ErrorKind::Layout {
            protocol,
            message: message.into(),
        })
    }
}

impl From<amine_tasks::Error> for Error {
    fn from(e: amine_tasks::Error) -> Error {
        Error::new(ErrorKind::Data(e))
    }
}

impl From<amine_sim::Error> for Error {
    fn from(e: amine_sim::Error) -> Error {
        Error::new(ErrorKind::Sim(e))
    }
}
