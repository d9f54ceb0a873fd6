//! report.html in a real browser: headless Chromium at 1280 px and at the width of an A4 page,
//! with no horizontal overflow and no header cell overflowing its column, a screenshot, and
//! the page printed to an A4 PDF. Runs where Chromium is installed (.ci/run installs it);
//! under CI=true its absence is a failure.

mod common;

use send_conformance::target::Target;
use send_conformance::{RunOptions, run};
use std::path::{Path, PathBuf};
use std::process::Command;

fn chromium() -> Option<PathBuf> {
    let found = [
        "/usr/bin/chromium",
        "/usr/bin/chromium-browser",
        "/usr/bin/google-chrome",
    ]
    .into_iter()
    .map(PathBuf::from)
    .find(|p| p.is_file());
    if found.is_none() {
        assert!(
            !std::env::var("CI").is_ok_and(|v| v == "true"),
            "Chromium is required under CI=true (.ci/run installs it)"
        );
        // Not eprintln!: libtest would capture it in a passing test, and nobody would know.
        use std::io::Write as _;
        let _ = writeln!(
            std::io::stderr(),
            "!!! Chromium not found: report.html is not checked in a browser"
        );
    }
    found
}

/// Chromium headless, as this machine allows it (no sandbox as root, no network chatter).
fn browser(bin: &Path, profile: &Path) -> Command {
    let mut c = Command::new(bin);
    c.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
    ])
    .arg(format!("--user-data-dir={}", profile.display()));
    c
}

/// Measures the page at `width` px: whether anything overflows the window horizontally, and
/// which header cells overflow their column.
const PROBE: &str = r#"<script>
(function () {
  var over = document.documentElement.scrollWidth > window.innerWidth;
  var wide = [];
  document.querySelectorAll('body *').forEach(function (e) {
    if (e.getBoundingClientRect().right > window.innerWidth + 1 && wide.length < 3) {
      wide.push(e.tagName + '.' + e.className + ':' + e.textContent.trim().slice(0, 40));
    }
  });
  document.body.setAttribute('data-wide', wide.join('|'));
  var bad = [];
  document.querySelectorAll('th').forEach(function (th) {
    if (th.scrollWidth > th.clientWidth + 1) { bad.push(th.textContent.trim()); }
  });
  document.body.setAttribute('data-overflow', over ? 'yes' : 'no');
  document.body.setAttribute('data-bad-headers', bad.join('|'));
})();
</script>"#;

fn layout(bin: &Path, profile: &Path, page: &Path, width: u32) -> (String, String) {
    let out = browser(bin, profile)
        .arg(format!("--window-size={width},1000"))
        .arg("--dump-dom")
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("chromium runs");
    let dom = String::from_utf8_lossy(&out.stdout).into_owned();
    let attr = |name: &str| {
        dom.split(&format!("{name}=\""))
            .nth(1)
            .and_then(|r| r.split('"').next())
            .map(str::to_string)
            .unwrap_or_else(|| {
                panic!(
                    "no {name} in the dumped page: {}",
                    &dom[..dom.len().min(300)]
                )
            })
    };
    let overflow = attr("data-overflow");
    let overflow = if overflow == "yes" {
        format!("yes: {}", attr("data-wide"))
    } else {
        overflow
    };
    (overflow, attr("data-bad-headers"))
}

#[tokio::test]
async fn the_report_reads_at_1280_px_and_prints_on_a4() {
    let Some(bin) = chromium() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let o = run(RunOptions::new(
        common::demo(),
        Target::Embedded,
        dir.path(),
    ))
    .await
    .unwrap();
    let page = o.report_dir.join("report.html");
    let html = std::fs::read_to_string(&page).unwrap();
    // The probe sits beside the report, so its relative links and styles are the report's.
    let probe = o.report_dir.join("report-probe.html");
    std::fs::write(&probe, html.replace("</body>", &format!("{PROBE}</body>"))).unwrap();
    let profile = dir.path().join("chromium-profile");
    // 1280 px, and about the width of an A4 page's printable area (186 mm ≈ 703 px).
    for width in [1280, 703] {
        let (overflow, bad) = layout(&bin, &profile, &probe, width);
        assert_eq!(overflow, "no", "the page overflows at {width} px");
        assert_eq!(
            bad, "",
            "header cells overflowing their column at {width} px"
        );
    }
    let shot = dir.path().join("report.png");
    let status = browser(&bin, &profile)
        .arg("--window-size=1280,2000")
        .arg(format!("--screenshot={}", shot.display()))
        .arg(format!("file://{}", page.display()))
        .status()
        .unwrap();
    assert!(status.success());
    let png = std::fs::read(&shot).unwrap();
    assert!(png.starts_with(b"\x89PNG") && png.len() > 10_000);
    let pdf = dir.path().join("report.pdf");
    let status = browser(&bin, &profile)
        .arg("--no-pdf-header-footer")
        .arg(format!("--print-to-pdf={}", pdf.display()))
        .arg(format!("file://{}", page.display()))
        .status()
        .unwrap();
    assert!(status.success());
    let bytes = std::fs::read(&pdf).unwrap();
    let text = String::from_utf8_lossy(&bytes);
    let media = regex::Regex::new(r"/MediaBox\s*\[\s*0\s+0\s+([\d.]+)\s+([\d.]+)\s*\]").unwrap();
    let sizes: Vec<(f64, f64)> = media
        .captures_iter(&text)
        .map(|c| (c[1].parse().unwrap(), c[2].parse().unwrap()))
        .collect();
    assert!(!sizes.is_empty(), "no page in the PDF");
    for (w, h) in &sizes {
        // A4 is 595 × 842 points.
        assert!(
            (w - 595.0).abs() < 2.0 && (h - 842.0).abs() < 2.0,
            "page {w} × {h} is not A4"
        );
    }
}
