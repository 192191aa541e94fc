//! The page's only stylesheet, inlined in index.html: readable on screen, with a print rule that
//! drops navigation, keeps colours of the verdict banners and avoids breaking tables and charts
//! across pages. Fonts are local ones only; nothing is fetched.

pub(super) const CSS: &str = r#"
:root { --ok: #1b7a3a; --ok-bg: #e6f4ea; --fail: #b3261e; --fail-bg: #fce8e6;
  --warn: #8a5a00; --warn-bg: #fff4d6; --ink: #222; --muted: #666; --rule: #ddd; }
* { box-sizing: border-box; }
body { font-family: "DejaVu Sans", "Helvetica Neue", Arial, sans-serif; color: var(--ink);
  margin: 0 auto; padding: 24px 32px 48px; max-width: 1240px; line-height: 1.45; font-size: 15px; }
h1 { font-size: 28px; margin: 0 0 4px; }
h2 { font-size: 22px; margin: 36px 0 12px; padding-bottom: 4px; border-bottom: 2px solid var(--rule); }
h3 { font-size: 17px; margin: 20px 0 8px; }
.sr { position: absolute; left: -9999px; }
.desc { margin: 0; font-size: 17px; }
.meta, .note, figcaption, footer { color: var(--muted); font-size: 13px; }
.banner { padding: 12px 16px; margin: 10px 0; border-radius: 6px; border-left: 8px solid; }
.banner strong { font-size: 17px; margin-right: 6px; }
.banner.ok { background: var(--ok-bg); border-color: var(--ok); color: var(--ok); }
.banner.fail { background: var(--fail-bg); border-color: var(--fail); color: var(--fail); }
.banner.warn { background: var(--warn-bg); border-color: #e0a800; color: var(--warn); }
.slos { margin: 4px 0; padding-left: 20px; }
.slos .none { color: var(--muted); }
.slos li { margin: 2px 0; }
.slos .pass strong { color: var(--ok); }
.slos .fail strong { color: var(--fail); }
.slos .fail { color: var(--fail); }
.banner.big strong { font-size: 20px; }
.figures { display: grid; grid-template-columns: repeat(auto-fit, minmax(170px, 1fr)); gap: 10px;
  margin: 18px 0; }
.figure { border: 1px solid var(--rule); border-radius: 6px; padding: 10px 12px; }
.figure .label { font-size: 12px; color: var(--muted); text-transform: uppercase; letter-spacing: .04em; }
.figure .value { font-size: 22px; font-weight: bold; font-variant-numeric: tabular-nums; }
.figure .value .unit { font-size: 14px; font-weight: normal; }
.figure .sub { font-size: 12px; color: var(--muted); }
nav ul { list-style: none; padding: 0; margin: 8px 0; display: flex; flex-wrap: wrap; gap: 6px 18px; }
nav a, a { color: #0b57a4; }
table { border-collapse: collapse; margin: 8px 0 16px; font-size: 14px; }
caption { text-align: left; font-weight: bold; padding: 4px 0; }
th, td { border-bottom: 1px solid var(--rule); padding: 5px 8px; vertical-align: top; }
thead th { border-bottom: 2px solid #999; text-align: right; white-space: nowrap; }
thead th:first-child, th.row { text-align: left; }
table.pct th.row { min-width: 220px; }
th .note { font-weight: normal; }
table.faults { width: 100%; }
table.faults thead th { text-align: left; white-space: normal; }
table.faults th.row { width: 240px; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.text { max-width: 340px; }
.kv th { text-align: left; font-weight: normal; color: var(--muted); white-space: nowrap; }
.kv td { word-break: break-word; }
.grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(340px, 1fr)); gap: 0 24px; }
figure { margin: 18px 0 28px; }
figure svg { display: block; max-width: 100%; height: auto; border: 1px solid var(--rule); }
/* The charts were laid out with DejaVu Sans metrics; use it when the machine has it. */
figure svg text { font-family: "DejaVu Sans", "Verdana", sans-serif; }
pre.scenario { background: #f6f6f6; border: 1px solid var(--rule); padding: 12px; overflow-x: auto;
  font-size: 13px; white-space: pre-wrap; }
code { font-size: 13px; }
footer { margin-top: 40px; border-top: 1px solid var(--rule); padding-top: 8px; }
@media print {
  body { max-width: none; padding: 0; font-size: 11pt; }
  nav { display: none; }
  a { color: inherit; text-decoration: none; }
  .banner, .figure { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  figure, table, .banner { break-inside: avoid; }
  h2 { break-after: avoid; }
}
"#;
