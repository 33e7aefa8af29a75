//! `report.html`: one self-contained page (inline CSS, no script, no network) with the plots,
//! the transition points, the theory table, a table of runs and each run's sample grid and
//! NN grid. Images are referenced by relative, percent-encoded paths inside the sweep
//! directory; every text that comes from run names, axes, configs or specs is HTML-escaped.

use super::aggregate::Crossing;
use super::collect::RunRecord;
use super::plots::Figure;
use super::theory::TheoryRow;
use std::fmt::Write;
use std::path::Path;

/// Escapes `& < > " '` so any text is safe in element content and quoted attributes.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Percent-encodes a relative path for a URL: every byte except ASCII letters, digits,
/// `-._~` and the `/` separators.
pub fn escape_url_path(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/') {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// A number with 4 significant digits (`inf`, `-` for missing).
fn fmt(x: Option<f64>) -> String {
    match x {
        None => "-".into(),
        Some(v) if v.is_nan() => "-".into(),
        Some(v) => crate::io::show::num(v),
    }
}

/// Everything the page shows.
pub struct Page<'a> {
    /// Sweep name.
    pub title: &'a str,
    /// The spec's description.
    pub description: Option<&'a str>,
    /// The resolved sweep spec text.
    pub spec_text: Option<&'a str>,
    /// The runs.
    pub runs: &'a [RunRecord],
    /// The plots.
    pub figures: &'a [Figure],
    /// Where R_mem falls below 0.5.
    pub crossings: &'a [Crossing],
    /// Measured KL against theory.
    pub theory: &'a [TheoryRow],
    /// The sweep directory (to check which images exist).
    pub sweep_dir: &'a Path,
    /// What the report stands on: the grid's points without R_mem, the runs outside it.
    pub accounting: &'a [String],
}

const STYLE: &str = "body{font-family:sans-serif;margin:2em;max-width:1400px;color:#222}\
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:2px 8px;\
text-align:right}th{background:#eee}td.l,th.l{text-align:left}.failed{color:#b00}\
figure{display:inline-block;margin:0 1em 1em 0;vertical-align:top}figure img{width:560px;\
border:1px solid #ddd}figcaption{max-width:560px;font-size:90%}\
.run{display:inline-block;vertical-align:top;margin:0 1em 1em 0;border:1px solid #ddd;\
padding:.5em}.run img{width:220px;image-rendering:pixelated;margin-right:4px}\
pre{background:#f6f6f6;padding:.5em;overflow:auto;max-height:30em}";

/// The image `rel` (relative to `dir`) if it exists, as a link to itself: the page shows it
/// scaled down, a click opens it at full size (nearest-neighbour grids are unreadable at the
/// gallery's width). False when the file is missing.
fn img(out: &mut String, dir: &Path, rel: &str, alt: &str) -> bool {
    if !dir.join(rel).is_file() {
        return false;
    }
    let url = escape_url_path(rel);
    let _ = write!(
        out,
        "<a href=\"{url}\" title=\"full size\"><img src=\"{url}\" alt=\"{}\"></a>",
        escape_html(alt)
    );
    true
}

fn crossings(out: &mut String, cs: &[Crossing]) {
    if cs.is_empty() {
        return;
    }
    out.push_str(
        "<h2>Memorisation to generalisation</h2><table><tr><th class=l>line</th>\
        <th>last N with R_mem &ge; 0.5</th><th>first N with R_mem &lt; 0.5</th>\
        <th>interpolated N</th><th class=l>computed without</th></tr>",
    );
    for c in cs {
        let _ = write!(
            out,
            "<tr><td class=l>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=l>{}</td></tr>",
            escape_html(&c.label),
            c.last_above
                .map_or("(below from the smallest N)".into(), |v| fmt(Some(v))),
            c.first_below
                .map_or("(never below)".into(), |v| fmt(Some(v))),
            fmt(c.interpolated),
            match c.missing.is_empty() {
                true => "(every grid point)".to_string(),
                false => escape_html(&c.missing.join(", ")),
            }
        );
    }
    out.push_str("</table>");
}

fn theory(out: &mut String, rows: &[TheoryRow]) {
    if rows.is_empty() {
        return;
    }
    out.push_str("<h2>Gaussian KL against the linear theory</h2><p>Measured: KL of a Gaussian \
        fitted to M generated samples (mean, min..max over seeds). Theory: KL(&rho;<sub>N</sub> \
        || &rho;) of the optimal linear denoiser; + fit: plus the expected error of a fit from \
        M samples (the expectation of the measurement for linear models).</p><table><tr>\
        <th class=l>line</th><th>N</th><th>N/d</th><th>runs</th><th>KL measured</th>\
        <th>min..max</th><th>theory</th><th>theory + fit</th><th>measured / (theory + fit)</th></tr>");
    for r in rows {
        let _ = write!(
            out,
            "<tr><td class=l>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}..{}</td>\
             <td>{}</td><td>{}</td><td>{}</td></tr>",
            escape_html(&r.line),
            r.n,
            fmt(Some(r.n_over_d)),
            r.runs,
            fmt(Some(r.kl_mean)),
            fmt(Some(r.kl_min)),
            fmt(Some(r.kl_max)),
            fmt(Some(r.theory)),
            fmt(Some(r.theory_fit)),
            fmt(Some(r.kl_mean / r.theory_fit))
        );
    }
    out.push_str("</table>");
}

/// The table cell of `key`: its value, or "not reached" for a time whose `KEY_reached` flag
/// is 0 (the convention of tau_mem: a run that never crossed has no number).
fn cell(r: &RunRecord, key: &str) -> String {
    match r.get(&format!("{key}_reached")) {
        Some(0.0) => "not reached".into(),
        _ => fmt(r.get(key)),
    }
}

fn run_table(out: &mut String, runs: &[RunRecord]) {
    let keys = [
        ("R_mem", "mem.r_mem"),
        ("loss gap (eps)", "loss.mean_gap"),
        ("normalised gap", "loss.normalised_gap"),
        ("KL", "gaussian.kl_samples_fit_to_truth"),
        ("latent dim (train)", "latent_dim.train"),
        ("latent dim (samples)", "latent_dim.samples"),
        ("MIA AUC", "mia.best.auc"),
        ("FWD", "quality.fwd.samples.value"),
        ("FWD floor", "quality.fwd.floor.value"),
        ("KID", "quality.kid.samples.mean"),
        ("tau_mem", "dynamics.tau_mem"),
        ("tau_gen", "dynamics.tau_gen"),
        ("train s", "train.train_seconds"),
    ];
    let shown: Vec<_> = keys
        .iter()
        .filter(|(_, k)| runs.iter().any(|r| r.get(k).is_some()))
        .collect();
    out.push_str(
        "<h2>Runs</h2><table><tr><th class=l>run</th><th class=l>status</th>\
        <th class=l>axes</th><th>N</th><th class=l>verdict</th>",
    );
    for (label, _) in &shown {
        let _ = write!(out, "<th>{}</th>", escape_html(label));
    }
    out.push_str("</tr>");
    for (i, r) in runs.iter().enumerate() {
        let axes: Vec<String> = r.axes.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let class = if r.status == "failed" { " failed" } else { "" };
        let status = match &r.message {
            Some(m) => format!("{}: {m}", r.status),
            None => r.status.clone(),
        };
        let _ = write!(
            out,
            "<tr><td class=l><a href=\"#run-{i}\">{}</a></td><td class=\"l{class}\">{}</td>\
             <td class=l>{}</td><td>{}</td>",
            escape_html(&r.name),
            escape_html(&status),
            escape_html(&axes.join(" ")),
            r.n().map_or("-".into(), |n| n.to_string())
        );
        // The verdict's kind, with its evidence and next command on hover.
        let _ = match &r.verdict {
            Some(v) => write!(
                out,
                "<td class=l title=\"{}\">{}</td>",
                escape_html(&format!("{}. {}", v.line(), v.next)),
                escape_html(v.kind.label())
            ),
            None => write!(out, "<td class=l>-</td>"),
        };
        for (_, k) in &shown {
            let _ = write!(out, "<td>{}</td>", cell(r, k));
        }
        out.push_str("</tr>");
    }
    out.push_str("</table>");
}

fn gallery(out: &mut String, runs: &[RunRecord], dir: &Path) {
    out.push_str(
        "<h2>Samples and nearest training images</h2><p>Left: the run's sample grid \
        (samples.png). Right (image data): generated samples beside their nearest training \
        images, most memorised first (nn_grid.png). Click an image for its full size.</p>",
    );
    for (i, r) in runs.iter().enumerate() {
        let _ = write!(
            out,
            "<div class=run id=\"run-{i}\"><h3>{}</h3><p>{} &middot; N = {}</p>",
            escape_html(&r.name),
            escape_html(&r.line),
            r.n().map_or("-".into(), |n| n.to_string())
        );
        // The verdict's kind, with its evidence and next command on hover.
        let _ = match &r.verdict {
            Some(v) => write!(
                out,
                "<td class=l title=\"{}\">{}</td>",
                escape_html(&format!("{}. {}", v.line(), v.next)),
                escape_html(v.kind.label())
            ),
            None => write!(out, "<td class=l>-</td>"),
        };
        let rel = format!("runs/{}", r.name);
        // Synthetic vectors drawn as squares of pixels would look like images and mean nothing.
        let vectors = r
            .config
            .as_ref()
            .is_some_and(|c| c.data.spec.is_synthetic());
        let mut any = !vectors
            && img(
                out,
                dir,
                &format!("{rel}/samples.png"),
                &format!("samples of {}", r.name),
            );
        any |= !vectors
            && img(
                out,
                dir,
                &format!("{rel}/nn_grid.png"),
                &format!("nearest neighbours of {}", r.name),
            );
        if vectors {
            out.push_str("<p>(vector data: no image grids)</p>");
        } else if !any {
            out.push_str("<p>(no images yet)</p>");
        }
        let _ = write!(
            out,
            "<details><summary>config.toml</summary><pre>{}</pre></details></div>",
            escape_html(&r.config_text)
        );
    }
}

/// The whole page.
pub fn render(p: &Page) -> String {
    let mut out = String::new();
    let title = escape_html(p.title);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>diffmem sweep {title}</title><style>{STYLE}</style></head><body>\
         <h1>diffmem sweep {title}</h1>"
    );
    if let Some(d) = p.description {
        let _ = write!(out, "<p>{}</p>", escape_html(d));
    }
    let count = |s: &str| p.runs.iter().filter(|r| r.status == s).count();
    let _ = write!(
        out,
        "<p>{} runs: {} done, {} failed, {} not finished. Data: <a href=\"report.csv\">report.csv</a>.</p>",
        p.runs.len(),
        count("done"),
        count("failed"),
        p.runs.len() - count("done") - count("failed")
    );
    if !p.accounting.is_empty() {
        out.push_str("<h2>What this report stands on</h2><ul>");
        for line in p.accounting {
            let _ = write!(out, "<li>{}</li>", escape_html(line));
        }
        out.push_str("</ul>");
    }
    crossings(&mut out, p.crossings);
    out.push_str("<h2>Plots</h2>");
    for f in p.figures {
        out.push_str("<figure>");
        img(&mut out, p.sweep_dir, &f.file, &f.caption);
        let svg = Path::new(&f.file).with_extension("svg");
        let svg = svg.to_string_lossy();
        let vector = match p.sweep_dir.join(&*svg).is_file() {
            true => format!(" <a href=\"{}\">(SVG)</a>", escape_url_path(&svg)),
            false => String::new(),
        };
        let _ = write!(
            out,
            "<figcaption>{}{vector}</figcaption></figure>",
            escape_html(&f.caption)
        );
    }
    theory(&mut out, p.theory);
    run_table(&mut out, p.runs);
    gallery(&mut out, p.runs, p.sweep_dir);
    if let Some(s) = p.spec_text {
        let _ = write!(out, "<h2>Sweep spec</h2><pre>{}</pre>", escape_html(s));
    }
    out.push_str("</body></html>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_paths_are_escaped() {
        assert_eq!(
            escape_html("<script>alert('x')</script> & \"q\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;"
        );
        assert_eq!(
            escape_url_path("runs/<script> a#?%/samples.png"),
            "runs/%3Cscript%3E%20a%23%3F%25/samples.png"
        );
        assert_eq!(fmt(Some(0.25)), "0.25");
        assert_eq!(fmt(Some(1234567.0)), "1.235e6");
        assert_eq!(fmt(None), "-");
    }

    #[test]
    fn a_time_never_reached_says_so_and_an_unmeasured_one_is_a_dash() {
        let run = |scalars: &[(&str, f64)]| RunRecord {
            name: "r".into(),
            status: "done".into(),
            message: None,
            index: None,
            axes: Vec::new(),
            line: String::new(),
            config: None,
            config_text: String::new(),
            metrics: None,
            verdict: None,
            scalars: scalars.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
        };
        let key = "dynamics.tau_mem";
        let reached = run(&[(key, 604.47), ("dynamics.tau_mem_reached", 1.0)]);
        assert_eq!(cell(&reached, key), "604.5");
        let never = run(&[("dynamics.tau_mem_reached", 0.0)]);
        assert_eq!(cell(&never, key), "not reached");
        assert_eq!(cell(&run(&[]), key), "-");
    }

    #[test]
    fn the_run_table_shows_each_runs_verdict_with_its_evidence() {
        let s = crate::verdict::Signals {
            closed_form: true,
            r_mem: Some(1.0),
            ..Default::default()
        };
        let run = RunRecord {
            name: "e".into(),
            status: "done".into(),
            message: None,
            index: None,
            axes: Vec::new(),
            line: String::new(),
            config: None,
            config_text: String::new(),
            metrics: None,
            verdict: Some(crate::verdict::decide(&s, "runs/e", "runs/e")),
            scalars: [("mem.r_mem".to_string(), 1.0)].into_iter().collect(),
        };
        let mut out = String::new();
        run_table(&mut out, &[run]);
        assert!(out.contains(">copies its training set</td>"), "{out}");
        assert!(
            out.contains("title=\"copies its training set: R_mem 1 (100% of samples"),
            "{out}"
        );
        assert!(out.contains("next: look at runs/e/nn_grid.png"), "{out}");
    }

    #[test]
    fn page_escapes_run_names_and_config_text() {
        let dir = std::env::temp_dir().join(format!("diffmem-html-{}", std::process::id()));
        let run = RunRecord {
            name: "<script>alert(1)</script>".into(),
            status: "failed".into(),
            message: Some("<b>boom</b>".into()),
            index: Some(0),
            axes: vec![("model".into(), "<i>m</i>".into())],
            line: "<i>m</i>".into(),
            config: None,
            config_text: "spec = \"</pre><script>\"".into(),
            metrics: None,
            verdict: None,
            scalars: Default::default(),
        };
        let runs = [run];
        let html = render(&Page {
            title: "<t>",
            description: Some("a<b"),
            spec_text: Some("x = '<script>'"),
            runs: &runs,
            figures: &[],
            crossings: &[],
            theory: &[],
            sweep_dir: &dir,
            accounting: &["<b>stray</b>".to_string()],
        });
        assert!(!html.contains("<script>"), "{html}");
        assert!(!html.contains("<b>boom"));
        assert!(html.contains("&lt;b&gt;stray"));
        assert!(!html.contains("<i>m"));
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    }

    #[test]
    fn gallery_images_link_to_their_full_size_file() {
        let dir = std::env::temp_dir().join(format!("diffmem-html-nn-{}", std::process::id()));
        let run_dir = dir.join("runs/r a");
        std::fs::create_dir_all(&run_dir).unwrap();
        std::fs::write(run_dir.join("nn_grid.png"), b"png").unwrap();
        let mut config = crate::run::config::RunConfig::default();
        config.data.n = 10;
        let run = RunRecord {
            name: "r a".into(),
            status: "done".into(),
            message: None,
            index: Some(0),
            axes: vec![],
            line: "mlp".into(),
            config: Some(config),
            config_text: String::new(),
            metrics: None,
            scalars: Default::default(),
            verdict: None,
        };
        let mut out = String::new();
        gallery(&mut out, &[run], &dir);
        let url = "runs/r%20a/nn_grid.png";
        assert!(
            out.contains(&format!(
                "<a href=\"{url}\" title=\"full size\"><img src=\"{url}\""
            )),
            "{out}"
        );
        // No link to an image that is not there.
        assert!(!out.contains("r%20a/samples.png"), "{out}");
        std::fs::remove_dir_all(&dir).ok();
    }
}
