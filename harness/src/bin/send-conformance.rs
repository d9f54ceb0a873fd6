//! `send-conformance`: runs SEND's onboarding test cases for one or more Enti.

use clap::{Parser, Subcommand};
use send_conformance::client::ApiFamily;
use send_conformance::profile::EnteProfile;
use send_conformance::target::Target;
use send_conformance::{RunOptions, default_features, run_many, summary_table};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "send-conformance",
    version,
    about = "SEND onboarding conformance: TC-INVIO-01..04 and TC-COSTO-01, per Ente",
    after_help = "Exit codes of `run`: 0 every test case passed (or is exempt) for every Ente; \
1 a test case failed; 2 could not run (profile, target, preflight, tags, report folder): \
nothing was judged for that Ente."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Print the checklist a mock keeps of your own client's calls, with the reason of every ✗.
    Checklist {
        /// The mock's base URL.
        #[arg(long)]
        target: String,
        /// The API key your client uses (the Ente whose calls are judged).
        #[arg(long, env = "SEND_API_KEY", hide_env_values = true)]
        api_key: String,
    },
    /// Forward your own software's calls to SEND (UAT or a mock), judge them live against the
    /// five test cases, and write the Ente's report on POST /_conformance/finish, SIGINT or
    /// SIGTERM. Point your software's SEND base URL at --listen.
    Proxy {
        /// uat, or the http(s) URL of a mock.
        #[arg(long)]
        upstream: String,
        /// The Ente profile (TOML) whose calls are judged: its key tells its calls apart.
        #[arg(long)]
        ente: PathBuf,
        #[arg(long, default_value = send_conformance::proxy::DEFAULT_LISTEN)]
        listen: std::net::SocketAddr,
        #[arg(long, default_value = "reports")]
        report_dir: PathBuf,
        /// The language of report.html and evidence/summary.md: it (default) or en.
        #[arg(long, default_value = "it")]
        lang: String,
    },
    /// Run the test cases and write a report per Ente.
    Run {
        /// Ente profile (TOML); repeatable. Default: fixtures/enti/demo.toml.
        #[arg(long = "ente")]
        ente: Vec<PathBuf>,
        /// Every *.toml profile of a directory.
        #[arg(long)]
        enti_dir: Option<PathBuf>,
        /// embedded (default), an http(s) URL of a mock, or uat.
        #[arg(long, default_value = "embedded")]
        target: String,
        /// current (requests v2.6, detail v2.9, streams v2.9) or v2.3.
        #[arg(long, default_value = "current")]
        api_family: String,
        /// Cucumber tag expression, e.g. "@TC-INVIO-01 or @TC-COSTO-01".
        #[arg(long)]
        tags: Option<String>,
        #[arg(long, default_value = "reports")]
        report_dir: PathBuf,
        #[arg(long)]
        features: Option<PathBuf>,
        /// Show every step as it runs.
        #[arg(long, short)]
        verbose: bool,
        /// How many Enti run at the same time.
        #[arg(long, default_value_t = 4)]
        concurrency: usize,
        /// Run a failed scenario again up to N times (UAT hiccups); a scenario that passes on a
        /// retry is reported as flaky, not failed.
        #[arg(long, default_value_t = 0)]
        retries: usize,
        /// The longest a wait for SEND may last (e.g. 45m). Default: 45 SEND days on the
        /// target's clock (45 min on UAT; a mock's scale is read from GET /mock/clock).
        #[arg(long, value_parser = send_mock::parse_duration)]
        deadline: Option<std::time::Duration>,
        /// The language of report.html and evidence/summary.md: it (default) or en.
        #[arg(long, default_value = "it")]
        lang: String,
    },
}

fn fail(msg: impl std::fmt::Display) -> ! {
    eprintln!("send-conformance: {msg}");
    std::process::exit(2);
}

fn demo_profile() -> PathBuf {
    let here = PathBuf::from("fixtures/enti/demo.toml");
    if here.is_file() {
        here
    } else {
        PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../fixtures/enti/demo.toml"
        ))
    }
}

fn print_checks(nodes: &serde_json::Value, depth: usize, out: &mut String) {
    for n in nodes.as_array().into_iter().flatten() {
        let mark = if n["ok"].as_bool() == Some(true) {
            "✓"
        } else {
            "✗"
        };
        out.push_str(&format!(
            "{}{mark} {}\n",
            "  ".repeat(depth),
            n["description"].as_str().unwrap_or_default()
        ));
        if n["children"].as_array().is_none_or(|c| c.is_empty())
            && let Some(r) = n["reason"].as_str()
        {
            out.push_str(&format!("{}    → {r}\n", "  ".repeat(depth)));
        }
        print_checks(&n["children"], depth + 1, out);
    }
}

fn checklist(target: &str, api_key: &str) -> ! {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| fail(e));
    let url = format!("{}/mock/checklist", target.trim_end_matches('/'));
    let body: serde_json::Value = rt.block_on(async {
        let r = reqwest::Client::new()
            .get(&url)
            .header("x-api-key", api_key)
            .send()
            .await
            .unwrap_or_else(|e| fail(format!("{url}: {e}")));
        if !r.status().is_success() {
            fail(format!("{url}: HTTP {}", r.status()));
        }
        r.json()
            .await
            .unwrap_or_else(|e| fail(format!("{url}: not a checklist ({e})")))
    });
    let mut out = format!(
        "{} ({})\n",
        body["ente"]["name"].as_str().unwrap_or_default(),
        body["ente"]["taxId"].as_str().unwrap_or_default()
    );
    print_checks(&body["checks"], 0, &mut out);
    print!("{out}");
    std::process::exit(if body["ok"].as_bool() == Some(true) {
        0
    } else {
        1
    });
}

/// `send-conformance proxy`: serves until finished, writes the report, exits 0 when every test
/// case passed (or is exempt), 1 when not, 2 when it could not run or write the report.
fn proxy(
    upstream: &str,
    ente: &std::path::Path,
    listen: std::net::SocketAddr,
    report_dir: PathBuf,
    lang: &str,
) -> ! {
    use send_conformance::proxy::{Proxy, ProxyOptions};
    let upstream = Target::parse(upstream)
        .map_err(|e| e.to_string().replace("--target", "--upstream"))
        .unwrap_or_else(|e| fail(e));
    let lang = send_conformance::report::i18n::Lang::parse(lang).unwrap_or_else(|e| fail(e));
    let profile = EnteProfile::load(ente).unwrap_or_else(|e| fail(e));
    let rt = tokio::runtime::Runtime::new().unwrap_or_else(|e| fail(e));
    let code = rt.block_on(async move {
        let name = profile.name.clone();
        let p = Proxy::start(ProxyOptions { upstream: upstream.clone(), profile, listen, report_dir, lang })
            .await
            .unwrap_or_else(|e| fail(e));
        let base = p.base_url();
        let to = match &upstream {
            Target::Url(u) => u.clone(),
            _ => send_conformance::target::UAT_URL.to_string(),
        };
        println!("send-conformance proxy listening on {base} → {to} for {name}");
        println!("live checklist: {base}/_conformance/checklist.html; finish with POST {base}/_conformance/finish, Ctrl-C or SIGTERM");
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .unwrap_or_else(|e| fail(format!("cannot listen for SIGTERM: {e}")));
        let done = tokio::select! {
            done = p.finished() => done.ok_or_else(|| "no report".to_string()),
            _ = tokio::signal::ctrl_c() => p.write_report().map_err(|e| e.to_string()),
            _ = term.recv() => p.write_report().map_err(|e| e.to_string()),
        };
        p.stop().await;
        match done {
            Ok(f) => {
                println!(
                    "report: {} — {}",
                    f.report_dir.display(),
                    if f.ok { "every test case passed" } else { "not every test case passed" }
                );
                if f.ok { 0 } else { 1 }
            }
            Err(e) => {
                eprintln!("send-conformance: the proxy's report was not written: {e}");
                2
            }
        }
    });
    std::process::exit(code);
}

fn main() {
    let command = Cli::parse().command;
    if let Command::Checklist { target, api_key } = &command {
        checklist(target, api_key);
    }
    if let Command::Proxy {
        upstream,
        ente,
        listen,
        report_dir,
        lang,
    } = command
    {
        proxy(&upstream, &ente, listen, report_dir, &lang);
    }
    let Command::Run {
        ente,
        enti_dir,
        target,
        api_family,
        tags,
        report_dir,
        features,
        verbose,
        concurrency,
        retries,
        deadline,
        lang,
    } = command
    else {
        unreachable!("checklist and proxy exit above")
    };
    let target = Target::parse(&target).unwrap_or_else(|e| fail(e));
    let lang = send_conformance::report::i18n::Lang::parse(&lang).unwrap_or_else(|e| fail(e));
    let family =
        ApiFamily::parse(&api_family).unwrap_or_else(|e| fail(format!("--api-family: {e}")));
    let profiles = profiles_of(ente, enti_dir);
    let features = features.unwrap_or_else(default_features);
    if !features.is_dir() {
        fail(format!("features folder {} not found", features.display()));
    }
    if let Some(t) = &tags {
        send_conformance::check_tags(&features, t).unwrap_or_else(|e| fail(e));
    }
    for p in &profiles {
        send_conformance::target::refuse_demo_on_uat(p, &target).unwrap_or_else(|e| fail(e));
    }
    let runs: Vec<RunOptions> = profiles
        .into_iter()
        .map(|profile| RunOptions {
            profile,
            target: target.clone(),
            family,
            tags: tags.clone(),
            report_dir: report_dir.clone(),
            features: features.clone(),
            verbose,
            retries,
            deadline,
            lang,
        })
        .collect();
    let several = runs.len() > 1;
    let results = run_many(runs, concurrency);
    std::process::exit(tell(&results, several.then_some(&report_dir), lang));
}

/// The profiles named with `--ente` and those of `--enti-dir`; the demo's when none is.
fn profiles_of(mut paths: Vec<PathBuf>, enti_dir: Option<PathBuf>) -> Vec<EnteProfile> {
    if let Some(dir) = enti_dir {
        let mut found: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| fail(format!("{}: {e}", dir.display())))
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect();
        found.sort();
        paths.extend(found);
    }
    if paths.is_empty() {
        paths.push(demo_profile());
    }
    paths
        .iter()
        .map(|p| EnteProfile::load(p).unwrap_or_else(|e| fail(e)))
        .collect()
}

/// Prints each Ente's table (and writes the batch summary under `batch_dir`); returns the exit
/// code: 0 all ready for go-live, 1 some not, 2 some could not run.
fn tell(
    results: &[(
        EnteProfile,
        Result<send_conformance::RunOutcome, send_conformance::CannotRun>,
    )],
    batch_dir: Option<&PathBuf>,
    lang: send_conformance::report::i18n::Lang,
) -> i32 {
    let mut all_go_live = true;
    let mut could_not_run = false;
    let mut tables = String::new();
    for (profile, outcome) in results {
        match outcome {
            Ok(o) => {
                all_go_live &= o.go_live();
                tables.push_str(&summary_table(profile, o));
            }
            Err(e) => {
                could_not_run = true;
                eprintln!("send-conformance: {}: {e}", profile.name);
                tables.push_str(&format!("\n{}: not run — {e}\n", profile.name));
            }
        }
    }
    if let Some(report_dir) = batch_dir {
        match send_conformance::report::batch::write(report_dir, results, lang) {
            Ok(s) => tables.push_str(&format!(
                "\n{} Enti: {} ready for go-live, {} not ready — {}\n",
                s.enti.len(),
                s.go_live,
                s.not_ready,
                report_dir.join("summary.html").display()
            )),
            Err(e) => tables.push_str(&format!("\nbatch summary not written: {e}\n")),
        }
    }
    println!("{tables}");
    match (could_not_run, all_go_live) {
        (true, _) => 2,
        (false, true) => 0,
        (false, false) => 1,
    }
}
