//! A Cucumber writer that keeps what the report needs: every attempt of every scenario, with
//! its steps, their durations and the failure text.
//!
//! Cucumber's own JSON writer merges a retried scenario's attempts into one list of steps
//! (`passed, failed, passed, passed`) and its JUnit writer counts the failed attempt as a
//! failure, so neither tells the run's true outcome; this writer keeps the attempts apart.

use cucumber::event::{self, Cucumber, Feature, Retries, Rule, Scenario, Step, StepError};
use cucumber::{Event, cli, gherkin, parser};
use serde::Serialize;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

/// One step as it ran.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct StepResult {
    /// Keyword and text, e.g. `When the Ente sends the notification`.
    pub text: String,
    /// passed, failed, skipped or undefined.
    pub status: String,
    pub duration_ms: u64,
    pub error: Option<String>,
}

/// One run of a scenario (the first, or a retry).
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Attempt {
    pub steps: Vec<StepResult>,
    /// A failed before/after hook, which fails the attempt without failing a step.
    pub hook_error: Option<String>,
    pub duration_ms: u64,
    #[serde(skip)]
    pub(crate) started: Option<SystemTime>,
    #[serde(skip)]
    pub(crate) finished: Option<SystemTime>,
    #[serde(skip)]
    pub(crate) step_started: Option<SystemTime>,
}

impl Attempt {
    pub fn passed(&self) -> bool {
        self.hook_error.is_none()
            && !self.steps.is_empty()
            && self.steps.iter().all(|s| s.status == "passed")
    }

    /// The first failing step and why, as a PT reads it.
    pub fn reason(&self) -> Option<String> {
        if let Some(h) = &self.hook_error {
            return Some(h.clone());
        }
        first_failure(&self.steps)
    }
}

/// `step — error` of the first step that did not pass; "no step ran" when there is none.
pub fn first_failure(steps: &[StepResult]) -> Option<String> {
    match steps.iter().find(|s| s.status != "passed") {
        Some(s) => Some(match &s.error {
            Some(e) => format!("{} — {e}", s.text),
            None => format!("{} — {}", s.text, s.status),
        }),
        None if steps.is_empty() => Some("no step ran".into()),
        None => None,
    }
}

/// A scenario and its attempts, in the order the features list them.
#[derive(Debug, Clone, PartialEq)]
pub struct ScenarioRecord {
    pub feature: String,
    pub name: String,
    pub line: usize,
    /// Feature and scenario tags, without `@`.
    pub tags: Vec<String>,
    pub attempts: Vec<Attempt>,
}

impl ScenarioRecord {
    /// The attempt that decides the scenario: the last one.
    pub fn last(&self) -> Option<&Attempt> {
        self.attempts.last()
    }
}

/// What the collector saw, shared with whoever reads it after the run.
#[derive(Debug, Clone, Default)]
pub struct Collected {
    inner: Arc<Mutex<CollectedInner>>,
}

#[derive(Debug, Default)]
struct CollectedInner {
    scenarios: Vec<ScenarioRecord>,
    /// Feature files that could not be parsed.
    parse_errors: Vec<String>,
}

impl Collected {
    pub fn scenarios(&self) -> Vec<ScenarioRecord> {
        self.lock().scenarios.clone()
    }
    pub fn parse_errors(&self) -> Vec<String> {
        self.lock().parse_errors.clone()
    }
    fn lock(&self) -> std::sync::MutexGuard<'_, CollectedInner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The writer; put it in a `tee` with `.discard_stats_writes().discard_arbitrary_writes()`.
#[derive(Debug, Default)]
pub struct Collector {
    out: Collected,
}

impl Collector {
    pub fn new(out: Collected) -> Self {
        Collector { out }
    }

    fn on_scenario<W>(
        &mut self,
        feature: &gherkin::Feature,
        scenario: &gherkin::Scenario,
        ev: Scenario<W>,
        retries: Option<Retries>,
        at: SystemTime,
    ) {
        let mut all = self.out.lock();
        let line = scenario.position.line;
        let idx = match all
            .scenarios
            .iter()
            .position(|r| r.feature == feature.name && r.line == line)
        {
            Some(i) => i,
            None => {
                let tags = feature
                    .tags
                    .iter()
                    .chain(scenario.tags.iter())
                    .map(|t| t.trim_start_matches('@').to_string())
                    .collect();
                all.scenarios.push(ScenarioRecord {
                    feature: feature.name.clone(),
                    name: scenario.name.clone(),
                    line,
                    tags,
                    attempts: vec![],
                });
                all.scenarios.len() - 1
            }
        };
        let record = &mut all.scenarios[idx];
        let attempt_no = retries.map_or(0, |r| r.current);
        while record.attempts.len() <= attempt_no {
            record.attempts.push(Attempt::default());
        }
        let attempt = &mut record.attempts[attempt_no];
        let ms = |from: Option<SystemTime>| {
            from.and_then(|f| at.duration_since(f).ok())
                .map_or(0, |d| d.as_millis() as u64)
        };
        match ev {
            Scenario::Started => attempt.started = Some(at),
            Scenario::Step(_, Step::Started) | Scenario::Background(_, Step::Started) => {
                attempt.step_started = Some(at)
            }
            Scenario::Step(step, outcome) | Scenario::Background(step, outcome) => {
                let (status, error) = match outcome {
                    Step::Started => unreachable!("matched above"),
                    Step::Passed(..) => ("passed", None),
                    Step::Skipped => ("skipped", None),
                    Step::Failed(_, _, _, err) => match err {
                        StepError::NotFound => ("undefined", Some("no step matches it".into())),
                        StepError::AmbiguousMatch(e) => ("ambiguous", Some(e.to_string())),
                        StepError::Panic(info) => ("failed", Some(panic_text(&info))),
                    },
                };
                attempt.steps.push(StepResult {
                    text: format!("{}{}", step.keyword, step.value).trim().to_string(),
                    status: status.into(),
                    duration_ms: ms(attempt.step_started.take()),
                    error,
                });
            }
            Scenario::Hook(which, event::Hook::Failed(_, info)) => {
                attempt.hook_error = Some(format!("{which} hook failed: {}", panic_text(&info)));
            }
            Scenario::Finished => {
                attempt.duration_ms = ms(attempt.started);
                attempt.finished = Some(at);
            }
            Scenario::Hook(..) | Scenario::Log(_) => {}
        }
    }
}

/// What a failed step returned, on one line (Cucumber delivers it as a panic payload).
fn panic_text(info: &event::Info) -> String {
    let raw = info
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| info.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "the step panicked".into());
    raw.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .take(6)
        .collect::<Vec<_>>()
        .join(" ")
}

impl<W: 'static> cucumber::Writer<W> for Collector {
    type Cli = cli::Empty;

    async fn handle_event(&mut self, ev: parser::Result<Event<Cucumber<W>>>, _: &Self::Cli) {
        let ev = match ev {
            Ok(ev) => ev,
            Err(e) => {
                self.out.lock().parse_errors.push(e.to_string());
                return;
            }
        };
        let (value, meta) = ev.split();
        match value {
            Cucumber::Feature(f, Feature::Scenario(sc, r))
            | Cucumber::Feature(f, Feature::Rule(_, Rule::Scenario(sc, r))) => {
                self.on_scenario(&f, &sc, r.event, r.retries, meta.at)
            }
            _ => {}
        }
    }
}
