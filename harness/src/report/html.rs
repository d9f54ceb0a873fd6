//! `report.html`: one self-contained page (inline CSS, no script, nothing fetched) that reads
//! well on screen and printed on A4, rendered from `templates/report.html` by minijinja, which
//! escapes every value (the template's `.html` name turns auto-escaping on).

use super::RunReport;
use super::error::ReportError;
use super::i18n::{self, Lang};
use minijinja::{Environment, Value};
use send_checklist::Check;

const TEMPLATE: &str = include_str!("../../templates/report.html");

/// The template engine with the report's filters, for `lang`. Shared with the batch summary.
pub fn environment(lang: Lang) -> Environment<'static> {
    let mut env = Environment::new();
    env.add_filter("duration", |ms: u64| super::duration(ms));
    env.add_filter("stato", move |code: String| {
        i18n::labelled(lang, &code, i18n::stato)
    });
    env.add_filter("categoria", move |code: String| {
        i18n::labelled(lang, &code, i18n::categoria)
    });
    env.add_filter("atto", move |code: String| {
        i18n::labelled(lang, &code, i18n::atto)
    });
    env.add_filter("downloaded_fact", downloaded_fact);
    env
}

/// The downloaded legal fact of `evidence` whose key is `key` (with or without
/// `safestorage://`), or none.
fn downloaded_fact(evidence: Value, key: String) -> Value {
    let key = key.trim_start_matches("safestorage://");
    evidence
        .get_attr("legalFacts")
        .ok()
        .and_then(|facts| facts.try_iter().ok())
        .and_then(|mut facts| {
            facts.find(|f| {
                f.get_attr("key")
                    .ok()
                    .and_then(|k| k.as_str().map(|k| k == key))
                    .unwrap_or(false)
            })
        })
        .unwrap_or(Value::from(()))
}

/// Renders the page. `files` are the evidence files written, relative to the report folder.
pub fn render(
    report: &RunReport,
    checks: &[Check],
    files: &[String],
) -> Result<String, ReportError> {
    let lang = Lang::parse(report.lang).unwrap_or_default();
    let mut env = environment(lang);
    env.add_template("report.html", TEMPLATE)
        .map_err(ReportError::template("report template"))?;
    let ctx = minijinja::context! {
        r => Value::from(minijinja::value::Serde(report)),
        checks => Value::from(minijinja::value::Serde(checks)),
        files => Value::from(minijinja::value::Serde(files)),
        t => Value::from(minijinja::value::Serde(i18n::texts(lang))),
    };
    env.get_template("report.html")
        .and_then(|t| t.render(ctx))
        .map_err(ReportError::template("report.html"))
}

pub fn write(
    dir: &std::path::Path,
    report: &RunReport,
    checks: &[Check],
    files: &[String],
) -> Result<(), ReportError> {
    let path = dir.join("report.html");
    std::fs::write(&path, render(report, checks, files)?).map_err(ReportError::io(&path))
}
