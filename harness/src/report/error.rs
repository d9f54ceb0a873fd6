//! Why a report file could not be written; each names the file or the template.

use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{what}: {source}")]
    Json {
        what: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("{what}: {source:#}")]
    Template {
        what: &'static str,
        #[source]
        source: minijinja::Error,
    },
    #[error("junit.xml: {0}")]
    Junit(#[source] quick_junit::SerializeError),
}

impl ReportError {
    /// The error of an I/O operation on `path`.
    pub fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ReportError + '_ {
        move |source| ReportError::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    pub fn template(what: &'static str) -> impl FnOnce(minijinja::Error) -> ReportError {
        move |source| ReportError::Template { what, source }
    }
}
