//! index.html: one self-contained page per run — inline CSS, charts inlined as SVG, no scripts,
//! nothing fetched from anywhere — that opens offline and prints. This module lays the page out
//! (header, navigation, charts, environment, files, scenario text) and holds the escaping and
//! number formatting; the verdict and key figures are in `verdict`, the data tables in `tables`,
//! the stylesheet in `style`.
//!
//! Every piece of text that comes from results.json goes through [`esc`]; numbers carry their
//! unit in the cell or in the column header.

mod registry;
mod registry_clients;
mod shards;
mod style;
mod tables;
mod verdict;

use std::fmt::Write;

use crate::metrics::Kind;
use crate::report::charts::Chart;
use crate::report::phases::{load_start_s, Rebuilt};
use crate::report::results::Results;

/// The whole page.
pub fn page(results: &Results, rebuilt: &Rebuilt, charts: &[Chart]) -> String {
    let name = &results.scenario.name;
    let mut s = String::with_capacity(256 * 1024);
    let _ = writeln!(
        s,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>kbench report: {}</title>\n<style>{}</style>\n</head>\n<body>",
        esc(name),
        style::CSS
    );
    header(&mut s, results);
    shards::missing(&mut s, results);
    verdict::verdict(&mut s, results, rebuilt);
    verdict::key_figures(&mut s, results);
    nav(&mut s, results);
    if !results.faults.is_empty() {
        tables::faults(&mut s, results);
    }
    if registry::shown(results) {
        registry::section(&mut s, results);
    }
    charts_section(&mut s, charts);
    tables::percentiles(&mut s, results, rebuilt);
    tables::counts(&mut s, results);
    shards::section(&mut s, results);
    environment(&mut s, results);
    tables::clients(&mut s, results);
    files(&mut s, results, rebuilt, charts);
    let _ = writeln!(
        s,
        "<section id=\"scenario\">\n<h2>Scenario file</h2>\n<p class=\"note\">{}, exactly as it \
         was run.</p>\n<pre class=\"scenario\">{}</pre>\n</section>",
        esc(&results.scenario.file),
        esc(&results.scenario.text)
    );
    let _ = writeln!(
        s,
        "<footer>Report written by kbench {} from results.json (format {}) and the .hlog \
         files in this directory; rebuild it with <code>kbench report &lt;this directory&gt;</code>.\
         </footer>\n</body>\n</html>",
        esc(env!("CARGO_PKG_VERSION")),
        results.format_version
    );
    s
}

/// Escapes text for element content and attribute values alike.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            other => out.push(other),
        }
    }
    out
}

/// Latency in ms with about three significant digits (the histograms' precision).
pub(crate) fn fmt_ms(us: u64) -> String {
    let ms = us as f64 / 1000.0;
    match ms {
        m if m < 1.0 => format!("{m:.3}"),
        m if m < 10.0 => format!("{m:.2}"),
        m if m < 100.0 => format!("{m:.1}"),
        m => format!("{m:.0}"),
    }
}

/// An integer with thousands separators.
pub(crate) fn fmt_int(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Seconds with a fixed number of decimals and the unit.
pub(crate) fn fmt_s(s: f64, decimals: usize) -> String {
    if s.is_finite() {
        format!("{s:.decimals$} s")
    } else {
        "—".into()
    }
}

/// What a latency kind measures, for table rows and file links.
pub(crate) fn kind_description(kind: &str) -> &'static str {
    match Kind::ALL.iter().find(|k| k.name() == kind) {
        Some(k) => k.description(),
        None => "unknown latency kind",
    }
}

/// Kinds in the order tables show them, followed by any this version does not know.
pub(crate) fn kind_order<'a>(kinds: impl Iterator<Item = &'a String>) -> Vec<&'a String> {
    let mut v: Vec<&String> = kinds.collect();
    let rank = |k: &str| {
        Kind::ALL
            .iter()
            .position(|x| x.name() == k)
            .unwrap_or(Kind::COUNT)
    };
    v.sort_by_key(|k| (rank(k), k.to_string()));
    v
}

fn header(s: &mut String, r: &Results) {
    let _ = writeln!(
        s,
        "<header>\n<h1>kbench report: {}</h1>\n<p class=\"desc\">{}</p>\n<p class=\"meta\">\
         Started {} · finished {} · {} measured after {} warm-up · times on charts and tables are \
         seconds since load start</p>\n</header>",
        esc(&r.scenario.name),
        esc(&r.scenario.description),
        esc(&r.environment.started_at),
        esc(&r.environment.finished_at),
        fmt_s(r.scenario.duration_s, 0),
        fmt_s(r.scenario.warmup_s, 0),
    );
}

pub(crate) fn fmt_rate(r: f64) -> String {
    if r >= 100.0 {
        fmt_int(r.round() as u64)
    } else {
        format!("{r:.1}")
    }
}

fn nav(s: &mut String, r: &Results) {
    let mut items = vec![];
    if !r.faults.is_empty() {
        items.push(("faults", "Failover"));
    }
    if registry::shown(r) {
        items.push(("registry", "Schema registry"));
    }
    items.extend([
        ("charts", "Charts"),
        ("percentiles", "Latency percentiles"),
        ("counts", "Counts"),
    ]);
    if r.distribution.is_some() {
        items.push(("shards", "Shards"));
    }
    items.extend([
        ("environment", "Scenario and environment"),
        ("clients", "Producers and consumers"),
        ("files", "Files"),
        ("scenario", "Scenario file"),
    ]);
    s.push_str("<nav><ul>");
    for (id, label) in items {
        let _ = write!(s, "<li><a href=\"#{id}\">{label}</a></li>");
    }
    s.push_str("</ul></nav>\n");
}

/// The report's stylesheet, for other pages kbench writes (the sweep's).
pub(crate) fn stylesheet() -> &'static str {
    style::CSS
}

/// The SVG as the page embeds it: no xmlns (HTML knows what `<svg>` is, and the page should not
/// carry any URL), and a label for screen readers.
pub(crate) fn inline_svg(svg: &str, title: &str) -> String {
    let body = svg.replacen(" xmlns=\"http://www.w3.org/2000/svg\"", "", 1);
    body.replacen(
        "<svg ",
        &format!("<svg role=\"img\" aria-label=\"{}\" ", esc(title)),
        1,
    )
}

fn charts_section(s: &mut String, charts: &[Chart]) {
    s.push_str("<section id=\"charts\">\n<h2>Charts</h2>\n");
    for c in charts {
        let name = esc(&c.name);
        let _ = writeln!(
            s,
            "<figure id=\"chart-{name}\">\n<h3 class=\"sr\">{}</h3>\n{}<figcaption>{} Files: \
             <a href=\"charts/{name}.svg\">{name}.svg</a>, \
             <a href=\"charts/{name}.png\">{name}.png</a>.</figcaption>\n</figure>",
            esc(&c.title),
            inline_svg(&c.svg, &c.title),
            esc(&c.caption),
        );
    }
    s.push_str("</section>\n");
}

fn kv_table(s: &mut String, caption: &str, rows: &[(&str, String)]) {
    let _ = writeln!(s, "<table class=\"kv\"><caption>{}</caption>", esc(caption));
    for (k, v) in rows {
        let _ = writeln!(s, "<tr><th>{}</th><td>{}</td></tr>", esc(k), esc(v));
    }
    s.push_str("</table>\n");
}

fn environment(s: &mut String, r: &Results) {
    s.push_str(
        "<section id=\"environment\">\n<h2>Scenario and environment</h2>\n<div class=\"grid\">\n",
    );
    scenario_table(s, r);
    environment_table(s, r);
    rate_table(s, r);
    if let Some(p) = &r.payload {
        let rows = p.rows();
        let rows: Vec<(&str, String)> = rows.iter().map(|(k, v)| (*k, v.clone())).collect();
        kv_table(s, "Payload", &rows);
    }
    s.push_str("</div>\n</section>\n");
}

fn scenario_table(s: &mut String, r: &Results) {
    let sc = &r.scenario;
    kv_table(
        s,
        "Scenario",
        &[
            ("name", sc.name.clone()),
            ("file", sc.file.clone()),
            ("seed", sc.seed.to_string()),
            ("measured duration", fmt_s(sc.duration_s, 1)),
            ("warm-up", fmt_s(sc.warmup_s, 1)),
            ("producers", sc.producers.to_string()),
            ("consumers", sc.consumers.to_string()),
            ("topic", sc.topic.clone()),
            ("partitions", sc.partitions.to_string()),
            ("replication factor", sc.replication_factor.to_string()),
            (
                "schema",
                format!("subject {}, id {}", r.schema.subject, r.schema.id),
            ),
            (
                "generated field sizes",
                format!(
                    "strings {} chars, bytes {} B, collections {} items",
                    r.schema.string_length, r.schema.bytes_length, r.schema.collection_length
                ),
            ),
        ],
    );
}

/// "kafka: kbench/kafka:4.1.1-java17 (built here, sha256:…)" per role; "none" off Docker.
fn images_text(images: &[crate::images::Resolved]) -> String {
    if images.is_empty() {
        return "none (no containers)".into();
    }
    let each: Vec<String> = (images.iter())
        .map(|i| format!("{}: {} ({}, {})", i.role, i.reference, i.origin, i.id))
        .collect();
    each.join("; ")
}

fn environment_table(s: &mut String, r: &Results) {
    let env = &r.environment;
    kv_table(
        s,
        "Environment",
        &[
            ("kbench version", r.kbench_version.clone()),
            ("Kafka version", env.kafka_version.clone()),
            ("registry version", env.registry_version.clone()),
            ("backend", env.backend.to_string()),
            ("images", images_text(&env.images)),
            ("bootstrap servers", env.bootstrap_servers.clone()),
            ("registry", env.registry_url.clone()),
            (
                "client security",
                env.client_security
                    .clone()
                    .unwrap_or_else(|| "plaintext".into()),
            ),
            ("started (UTC)", env.started_at.clone()),
            ("finished (UTC)", env.finished_at.clone()),
            ("cluster ready after", fmt_s(env.cluster_ready_s, 1)),
            (
                "JVM start-up settings",
                if env.jvm_tuning.is_empty() {
                    "defaults".to_string()
                } else {
                    env.jvm_tuning.join("; ")
                },
            ),
            ("broker settings", broker_settings(env)),
            ("consumer drain", fmt_s(env.drain_s, 2)),
            ("CPUs", env.cpus.to_string()),
            ("OS", env.os.clone()),
        ],
    );
}

/// `[cluster.broker]` with each broker's reported value, or the defaults.
fn broker_settings(env: &crate::report::results::Environment) -> String {
    if env.broker_settings.is_empty() {
        return "Kafka's defaults (kbench's layout only)".into();
    }
    (env.broker_settings.iter())
        .map(|b| {
            let brokers: Vec<String> = b.reported.keys().map(|id| id.to_string()).collect();
            format!(
                "{} = {} (reported by brokers {})",
                b.key,
                b.value,
                brokers.join(", ")
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn rate_table(s: &mut String, r: &Results) {
    let rate = &r.rate;
    kv_table(
        s,
        "Rate",
        &[
            (
                "target rate",
                format!("{} records/s", fmt_rate(rate.target_rate)),
            ),
            (
                "achieved rate (acked, measured)",
                format!("{} records/s", fmt_rate(rate.achieved_rate)),
            ),
            (
                "achieved / target",
                format!("{:.1}%", rate.achieved_ratio * 100.0),
            ),
            (
                "sent rate (measured)",
                format!("{} records/s", fmt_rate(rate.sent_rate)),
            ),
            (
                "records scheduled",
                format!("{} records", fmt_int(rate.target_records)),
            ),
            (
                "max send lag",
                format!("{} ms", fmt_ms(rate.send_lag_max_us)),
            ),
            (
                "generator saturated",
                if rate.generator_saturated {
                    "yes"
                } else {
                    "no"
                }
                .into(),
            ),
            (
                "load start",
                format!("{} after the run origin", fmt_s(load_start_s(r), 3)),
            ),
        ],
    );
}

fn files(s: &mut String, r: &Results, rebuilt: &Rebuilt, charts: &[Chart]) {
    s.push_str(
        "<section id=\"files\">\n<h2>Files</h2>\n<ul class=\"files\">\n<li><a \
         href=\"results.json\">results.json</a> — everything measured, in one documented \
         structure</li>\n",
    );
    for kind in kind_order(r.hlog_files.keys()) {
        let file = &r.hlog_files[kind];
        let missing = rebuilt.missing.iter().any(|(k, _)| k == kind);
        let link = if missing {
            format!("{} (missing)", esc(file))
        } else {
            format!("<a href=\"{0}\">{0}</a>", esc(file))
        };
        let _ = writeln!(
            s,
            "<li>{link} — HdrHistogram interval log, one histogram per second, values in µs: {}</li>",
            esc(kind_description(kind))
        );
    }
    let _ = writeln!(
        s,
        "<li>charts/ — every chart above as SVG and PNG ({} charts)</li>\n</ul>\n</section>",
        charts.len()
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            esc(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }

    #[test]
    fn numbers_carry_sensible_precision() {
        assert_eq!(fmt_int(0), "0");
        assert_eq!(fmt_int(12_500), "12,500");
        assert_eq!(fmt_int(1_234_567), "1,234,567");
        assert_eq!(fmt_ms(70), "0.070");
        assert_eq!(fmt_ms(2_114), "2.11");
        assert_eq!(fmt_ms(33_279), "33.3");
        assert_eq!(fmt_ms(627_199), "627");
        assert_eq!(fmt_s(f64::NAN, 1), "—");
    }

    #[test]
    fn inline_svg_drops_the_namespace_url() {
        let svg = r#"<svg width="10" height="10" viewBox="0 0 10 10" xmlns="http://www.w3.org/2000/svg"></svg>"#;
        let out = inline_svg(svg, "a <b>");
        assert!(!out.contains("http"));
        assert!(out.starts_with(r#"<svg role="img" aria-label="a &lt;b&gt;" width="10""#));
    }
}
