//! The screens' inline style sheet, palette and Swedish labels.
//!
//! Palette: score bands use ColorBrewer RdBu (light blue → dark red, a
//! diverging scheme readable with red–green colour blindness, and the four
//! steps differ in lightness too); graph lines use the Okabe–Ito palette
//! with a dash pattern per team. Every colour has a symbol and a word beside it.

use careload_scoring::news2::RiskLevel;
use careload_scoring::score::Component;
use careload_scoring::snapshot::{AdlDomain, AdlLevel};

use careload_app::view::{Band, Indicator};

/// The style sheet: large type scaled to the viewport, high contrast, no web fonts.
///
/// The root font follows the smaller of the viewport's width and height
/// (`min(.95vw, 1.69vh)`, 18 px at 1920×1080) with a floor of 14 px and no
/// cap, so a 4K screen shows the full-HD page at twice the size; sizes are
/// in `rem`, and in `em` inside the team columns, whose font the ward's
/// shape sets (`tables-N`, `dense`, `rows-…`, see `ward.rs`). The ward
/// screen is one `.wall` exactly the viewport's height: flex and grid
/// with `min-height:0`, so the graphs take what the teams leave. Media
/// queries for small screens (up to 1500 px wide or 850 px high) drop the
/// per-patient sparkline and, in dense columns, the ADL column; a container
/// query turns the component table into a compact list when its box is low.
pub(super) const CSS: &str = r#"
*{box-sizing:border-box}
html{font-size:max(14px,min(.95vw,1.69vh))}
body{margin:0;padding:.8rem 1.2rem;font-family:"DejaVu Sans","Segoe UI",Arial,sans-serif;background:#fff;color:#000;line-height:1.25}
a{color:#003d7a}
h1{font-size:2.4rem;margin:0}
h2{font-size:1.3rem;margin:0 0 .3rem}
.top{display:flex;flex-wrap:wrap;align-items:flex-end;gap:.6rem 2.5rem;border-bottom:4px solid #000;padding-bottom:.5rem;margin-bottom:.6rem}
.top .title{flex:1 1 20rem}
.asof{font-size:1.1rem;color:#222;margin-top:.2rem}
.quality{font-size:1rem;margin-top:.2rem}.quality.gaps{color:#7a4a00}.quality.ok{color:#2d5a2d}
.nav{font-size:.9rem}
.now{text-align:right}
.big{font-size:3.4rem;font-weight:700;line-height:1}
.caption{font-size:.85rem;color:#333;text-transform:uppercase;letter-spacing:.04em}
.split{font-size:1.35rem;font-weight:600}
.split .usk,.split .ssk{display:inline-block;padding:.05rem .4rem;border:2px solid #000;border-radius:.3rem;margin-left:.2rem}
.banner{font-size:1.15rem;padding:.3rem .8rem;margin:.4rem 0;border:4px solid #000;border-radius:.4rem}
.banner .sym{font-size:1.4rem;font-weight:700;line-height:1}
.banner.stale{background:#fee08b}
.stale-mark{background:#fee08b;font-size:.8em;padding:0 .3em;border-radius:.2em;font-weight:normal}
.banner.failed{background:#b2182b;color:#fff;border-color:#67001f}
.banner.partial{background:#fdd49e}
.nodata{display:flex;gap:1rem;align-items:center;font-size:1.6rem;background:#e0e0e0;color:#333;border:3px dashed #777;border-radius:.5rem;padding:2rem;margin:1rem 0}
.nodata .sym{font-size:3rem}
.wall{height:100vh;margin:-.8rem -1.2rem;padding:.5rem 1.2rem .3rem;display:flex;flex-direction:column;gap:.45rem;overflow:hidden}
.wall>*{flex:none;margin:0}
.wall>.top{padding-bottom:.3rem;gap:.3rem 2.5rem}
.wall h1{font-size:2.1rem}
.wall .big{font-size:3rem}
.main{flex:1 1 0;min-height:0;display:grid;gap:.6rem 1.2rem;grid-template-columns:minmax(0,1fr);grid-template-rows:auto minmax(0,1fr)}
.main.tables-1,.main.tables-2{grid-template-columns:minmax(0,2fr) minmax(0,1fr);grid-template-rows:minmax(0,1fr)}
.teams{display:grid;grid-auto-flow:column;grid-auto-columns:minmax(0,1fr);gap:.8em;align-items:start;min-height:0;font-size:1rem}
.tables-3 .teams{font-size:.96rem}
.dense .teams{font-size:.86rem;gap:.6em}
.team{border:2px solid #000;border-top-width:.5em;border-radius:.4em;padding:.2em .4em .3em;min-width:0}
.team>header{display:flex;align-items:center;gap:.2em .6em;margin-bottom:.15em}
.team>header>div:first-child{flex:0 1 auto;min-width:5em}
.team>header h2{margin:0;font-size:1.5em;line-height:1.15;overflow-wrap:anywhere}
.team>header .caption{font-size:.85em}
.team-spark{flex:1 1 0;min-width:0}
.team-now{flex:none;text-align:right;white-space:nowrap}
.team-now .split{display:block;font-size:1em}
.team-spark .spark{width:100%;height:2.4em}
.team-total{font-size:2.1em;font-weight:700;line-height:1.05}
.team-tables{display:grid;grid-auto-flow:column;grid-auto-columns:minmax(0,1fr);gap:.9em;align-items:start}
table{border-collapse:collapse;width:100%}
th{font-size:.8rem;text-align:left;color:#333;border-bottom:2px solid #000;padding:.1rem .25rem;font-weight:600}
td{padding:.2rem .25rem;border-bottom:1px solid #999;vertical-align:middle}
table.patients th{white-space:nowrap;font-size:.8em;padding:.1em .25em}
table.patients td{padding:.15em .25em}
td.bed{font-size:1.4em;font-weight:700;white-space:nowrap}
td.bed.long{font-size:1.05em}
td.num,th.num{text-align:right;white-space:nowrap}
td.c-split{font-size:.95em}
.score{display:inline-block;min-width:4.6em;padding:0 .25em;border-radius:.3em;font-size:1.35em;font-weight:700;border:2px solid #000;white-space:nowrap}
.score .sym{display:inline-block;width:1.2em;text-align:center}
.band-low{background:#d1e5f0;color:#000}
.band-moderate{background:#92c5de;color:#000}
.band-high{background:#f4a582;color:#000}
.band-very_high{background:#b2182b;color:#fff}
.news{display:inline-block;padding:0 .25em;border-radius:.3em;font-weight:700;font-size:1.15em;white-space:nowrap}
.news small{font-size:.62em;font-weight:600}
.news-low{border:2px solid transparent}
.news-low_medium{border:2px dashed #000}
.news-medium{border:3px solid #000;background:#fee08b}
.news-high{border:3px solid #000;background:#000;color:#fff}
.norton-risk{font-weight:700;text-decoration:underline}
.flag{display:inline-block;font-size:.7rem;font-weight:700;padding:0 .25rem;border:2px solid #000;border-radius:.2rem;margin-left:.2rem;vertical-align:middle}
td.bed .flag{font-size:.5em;margin-left:.3em;line-height:1.1;padding:0 .2em}
.adl{font-size:.85em;line-height:1.1}
.adl .adl-level{white-space:nowrap;margin-right:.3em;display:inline-block}
.muted{color:#555}
.spark{color:#000;display:block}
td.c-spark{width:4.5em}
td .spark{width:100%;height:1.7em}
.key{font-size:.8rem;gap:.1rem 1rem}
.key .score{min-width:0;font-size:.85rem;padding:0 .15rem}
.wall>footer{font-size:.75rem}
.row2{display:grid;grid-template-columns:minmax(0,2fr) minmax(0,1fr);gap:1rem;min-height:0;height:100%}
.tables-1 .row2,.tables-2 .row2{grid-template-columns:minmax(0,1fr);grid-template-rows:minmax(0,1.3fr) minmax(0,1fr)}
.trend,.components{display:flex;flex-direction:column;min-height:0;min-width:0}
.trend .plot{flex:1 1 0;min-height:0}
.chart{display:block;width:100%;height:100%}
.chart .grid{stroke:#bbb;stroke-width:1}
.chart .day{stroke:#666;stroke-width:1;stroke-dasharray:4 4}
.chart text{font-size:15px;fill:#000;font-family:inherit}
.legend{display:flex;flex-wrap:wrap;gap:.3rem 1.2rem;font-size:.95rem}
.legend svg{vertical-align:middle}
.components .rows{flex:1 1 0;min-height:0;container-type:size;container-name:components}
.components table td{border-bottom:1px solid #ccc;padding:.1rem .25rem;font-size:.95rem}
.components td.bar-cell{width:30%}
.bar{height:.9rem;background:#2166ac;min-width:1px}
@container components (max-height:15rem){
.components tbody{display:flex;flex-wrap:wrap;gap:.1rem 1.2rem}
.components tr{display:flex;gap:.4rem;border-bottom:1px solid #ccc}
.components table td{border:none;padding:0;font-size:.85rem}
.components td.share,.components td.bar-cell{display:none}
}
@media (max-width:1500px),(max-height:850px){
.main .c-spark{display:none}
.row2{grid-template-columns:minmax(0,1fr) minmax(0,1fr)}
.main.tables-2{grid-template-columns:minmax(0,5fr) minmax(0,2fr)}
.tables-3 .teams{font-size:.9rem}
.dense .c-adl{display:none}
}
.dense .c-spark,.dense .team-spark{display:none}
.dense td.c-split{line-height:1.05;font-size:.92em}
.dense .c-split span{display:block}
.dense .c-split .sep{display:none}
.dense .score{min-width:0}
.rows-l .teams{font-size:.92rem}
.rows-xl .teams{font-size:.85rem}
.overview td,.overview th{font-size:1.25rem;padding:.4rem .5rem}
.overview th{font-size:.95rem}
.overview tfoot td{font-weight:700;border-top:3px solid #000;border-bottom:none}
.ward-name{font-size:1.45rem;font-weight:700}
.ind{display:inline-block;min-width:11rem;padding:.1rem .4rem;border-radius:.3rem;border:2px solid #000;font-weight:700;white-space:nowrap}
.ind .sym{display:inline-block;width:1.2em;text-align:center}
.verdict{display:inline-block;padding:.1rem .4rem;border-radius:.3rem;border:2px solid #000;font-weight:700;white-space:nowrap}
.verdict .sym{display:inline-block;width:1.2em;text-align:center}
.verdict-under{background:#d73027;color:#fff}
.verdict-balanced{background:#e0e0e0;color:#000}
.verdict-spare{background:#4575b4;color:#fff}
.verdict-noplan{background:#fff;color:#555;border-style:dashed}
.note{font-size:.85em;font-style:italic}.gap .note{display:block;white-space:normal}
@media (max-width:1500px){.overview td,.overview th{font-size:1.05rem;padding:.3rem .35rem}.overview th{font-size:.85rem}}
.moves li{margin:.3rem 0}
.import form{margin:.4rem 0}.import input,.import button{font-size:1rem}
.import-ok{padding:.4rem .8rem;border:3px solid #1b7837;border-radius:.4rem}
.import-refused{padding:.4rem .8rem;border:3px solid #b2182b;border-radius:.4rem}
.ind-lower{background:#1b7837;color:#fff}
.ind-as_expected{background:#a6dba0;color:#000}
.ind-higher{background:#f46d43;color:#000}
.ind-too_little_data{background:#d9d9d9;color:#333;border-style:dashed}
footer{margin-top:.6rem;font-size:.8rem;color:#444}
/* patient page */
td.bed a.bed-link{color:inherit;text-decoration:underline;text-decoration-thickness:.08em;text-underline-offset:.15em}
.who{font-size:1rem;margin-top:.2rem}
.patient-page{display:grid;grid-template-columns:minmax(0,3fr) minmax(18rem,2fr);gap:1rem;align-items:start}
@media (max-width:1100px){.patient-page{grid-template-columns:1fr}}
.breakdown .component{margin-bottom:.7rem}
.breakdown h3{display:flex;justify-content:space-between;font-size:1.25rem;margin:.4rem 0 .2rem;border-bottom:2px solid #000}
table.items{table-layout:fixed}table.items td,table.items th{font-size:1rem}
.i-what{width:36%}.i-time{width:8%}.i-who{width:7%}.i-wq{width:14%}.i-pts{width:9%}.i-param{width:26%}
td.param{font-family:"DejaVu Sans Mono",monospace;font-size:.75rem;color:#333;overflow-wrap:anywhere}
.changes ul{font-size:1.25rem;padding-left:1.2rem;margin:.3rem 0}.changes li{margin:.25rem 0}
.total-change{font-size:1.3rem;margin:.3rem 0}
.message{font-size:1.4rem}.message li{margin:.4rem 0}
/* rating page */
.rate-page{max-width:42rem;margin:0 auto}
.rate-page h1{font-size:1.9rem}
.rate fieldset{border:2px solid #000;border-radius:.5rem;margin:0 0 .8rem;padding:.3rem .6rem .5rem;min-width:0}
.rate legend{font-size:1.15rem;font-weight:700;padding:0 .3rem}
.rate legend small{font-weight:400;font-size:.8rem;color:#333}
.rate .choice{display:flex;align-items:center;gap:.7rem;min-height:3.2rem;font-size:1.2rem;border-bottom:1px solid #ccc;cursor:pointer}
.rate .choice:last-child{border-bottom:none}
.rate .choice small{font-size:.85rem;color:#444;white-space:nowrap}
.rate input[type=radio]{width:1.7rem;height:1.7rem;flex:none;margin:0}
.rate .scale{display:grid;gap:.5rem}
.rate .scale legend{margin-bottom:.2rem}
.rate button.r{display:grid;grid-template-columns:3.4rem minmax(0,1fr);align-items:center;column-gap:.4rem;width:100%;min-height:3.6rem;padding:.3rem .6rem;font:inherit;font-size:1.2rem;text-align:left;color:#000;background:#fff;border:3px solid #000;border-radius:.6rem;cursor:pointer}
.rate button.r .n{grid-row:span 2;font-size:1.8rem;font-weight:700;text-align:center}
.rate button.r small{font-size:.8rem;color:#333}
.rate .r-low{background:#d1e5f0}.rate .r-zero{background:#e0e0e0}.rate .r-high{background:#fddbc7}
.rate button.r:focus,.rate button.r:active{outline:4px solid #003d7a;outline-offset:2px}
.anon{font-size:1rem;color:#333}
.thanks{font-size:1.6rem;font-weight:700}
/* calibration page */
.cal-page{max-width:110rem}
.cal-page section{margin:.8rem 0 1.2rem}
.banner.unreliable{background:#fee08b}
.banner .reasons{margin:.2rem 0 0;padding-left:1.6rem}
.headline{font-size:1.9rem;font-weight:700;margin:.3rem 0}
.headline.unreliable{color:#444}
.headline .flag{font-size:1rem}
.facts{font-size:1.2rem;margin:.2rem 0 .5rem}
.scatter{display:block;width:100%;height:auto;max-height:62vh}
.scatter .grid{stroke:#ccc;stroke-width:1}
.scatter .zero{stroke:#000;stroke-width:2.5}
.scatter .xtick{stroke:#000;stroke-width:1}
.scatter .ci{fill:#fdd49e}
.scatter .dot{fill:#0072B2;fill-opacity:.55;stroke:#003d7a;stroke-width:1}
.scatter .fit{stroke:#D55E00;stroke-width:3}
.scatter .optimum{fill:#000}
.scatter text{font-size:16px;fill:#000;font-family:inherit}
.scatter .axis{font-size:17px;font-weight:600}
.scatter .hint{font-size:14px;fill:#333}
.scatter .olab{font-size:16px;font-weight:700;paint-order:stroke;stroke:#fff;stroke-width:5px;stroke-linejoin:round}

.cal-small{display:grid;grid-template-columns:minmax(0,1fr) minmax(0,1fr);gap:1.2rem;margin-top:.8rem}
.cal-small figure{margin:0;min-width:0}
.cal-small figcaption{font-size:1.05rem;margin-bottom:.2rem}
.cal-small .scatter{max-height:45vh}
@media (max-width:1000px){.cal-small{grid-template-columns:minmax(0,1fr)}}
.fits td.why{font-size:.95rem}
.fits .ok{font-weight:700;color:#1b7837}.fits .no{font-weight:700;color:#b2182b}
.disagreement-list{font-size:1.15rem;padding-left:1.8rem}.disagreement-list li{margin:.35rem 0}
.method p{font-size:1.05rem;max-width:75rem}
.nowrap{white-space:nowrap}
"#;

/// A band's CSS class suffix, symbol and word.
pub(super) fn band(band: Band) -> (&'static str, &'static str, &'static str) {
    match band {
        Band::Low => ("low", "○", "låg"),
        Band::Moderate => ("moderate", "◐", "måttlig"),
        Band::High => ("high", "▲", "hög"),
        Band::VeryHigh => ("very_high", "◆", "mycket hög"),
    }
}

/// A NEWS2 risk level's CSS class suffix and word (empty for low).
pub(super) fn news2(risk: RiskLevel) -> (&'static str, &'static str) {
    match risk {
        RiskLevel::Low => ("low", ""),
        RiskLevel::LowMedium => ("low_medium", "!"),
        RiskLevel::Medium => ("medium", "▲ medel"),
        RiskLevel::High => ("high", "▲▲ hög"),
    }
}

/// The DiViS-style indicator's CSS class suffix, symbol and word.
pub(super) fn indicator(indicator: Indicator) -> (&'static str, &'static str, &'static str) {
    match indicator {
        Indicator::Lower => ("lower", "▼", "lägre"),
        Indicator::AsExpected => ("as_expected", "●", "som förväntat"),
        Indicator::Higher => ("higher", "▲", "högre"),
        Indicator::TooLittleData => ("too_little_data", "–", "för lite data"),
    }
}

/// A component's Swedish name.
pub(super) fn component(c: Component) -> &'static str {
    match c {
        Component::Medications => "Läkemedel",
        Component::Orders => "Ordinationer",
        Component::BasicNursing => "Grundläggande omvårdnad (USK)",
        Component::SpecificNursing => "Specifik omvårdnad (SSK)",
        Component::News2 => "NEWS2",
        Component::EmotionalSupport => "Emotionellt stöd",
        Component::CarePlans => "Vårdplaner",
        Component::Diagnoses => "Diagnoser",
        Component::Modifiers => "Utlokaliserad / nyinskriven",
    }
}

/// An ADL area's one-letter and long Swedish names.
pub(super) fn adl_domain(d: AdlDomain) -> (&'static str, &'static str) {
    match d {
        AdlDomain::Hygiene => ("H", "personlig hygien"),
        AdlDomain::EatingDrinking => ("Ä", "äta och dricka"),
        AdlDomain::Dressing => ("K", "klä sig"),
        AdlDomain::Toileting => ("T", "toalettbesök"),
        AdlDomain::Mobility => ("F", "förflyttning"),
    }
}

/// An ADL level's symbol and Swedish word (none for independent).
pub(super) fn adl_level(l: AdlLevel) -> Option<(&'static str, &'static str)> {
    match l {
        AdlLevel::Independent => None,
        AdlLevel::PartialHelp => Some(("◐", "delvis hjälp")),
        AdlLevel::FullHelp => Some(("●", "full hjälp")),
    }
}

/// Line colours and dash patterns for teams (Okabe–Ito), cycled.
pub(super) const TEAM_LINES: [(&str, Option<&str>); 6] = [
    ("#E69F00", None),
    ("#0072B2", Some("10 5")),
    ("#009E73", Some("3 4")),
    ("#CC79A7", Some("12 4 3 4")),
    ("#D55E00", Some("6 3")),
    ("#56B4E9", Some("2 2")),
];

/// The line style of the n-th team.
pub(super) fn team_line(n: usize) -> (&'static str, Option<&'static str>) {
    TEAM_LINES[n % TEAM_LINES.len()]
}
