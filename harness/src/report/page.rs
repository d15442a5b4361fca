//! The report's HTML: the verdict, its reasons (each with a link to its moment in
//! the plots and the diagram), the replay command and Maelstrom's figures as HTML
//! that reads without script; then the data for the plots and the diagram, which
//! `report.js` draws. Style and script are this folder's files, put in whole.

use std::fmt::Write as _;
use std::time::Instant;

use super::data;
use crate::journal::Journal;
use crate::outcome::{Outcome, Problem};
use crate::workload::{secs, Valid};

const STYLE: &str = include_str!("report.css");
const SCRIPT: &str = include_str!("report.js");

/// Escapes text for HTML.
pub fn esc(s: &str) -> String {
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

/// The class a verdict is shown with (its word is its `Display`).
pub fn verdict_class(v: Valid) -> &'static str {
    match v {
        Valid::True => "ok",
        Valid::False => "bad",
        Valid::Unknown => "unknown",
    }
}

/// A reason as a list item: its moment first, as a link to that moment in the
/// diagram and the plots (the page's script follows `a.moment`), then the sentence.
pub fn reason_html(p: &Problem) -> String {
    let link = match p.at {
        Some(ns) => {
            let t = ns / 1000;
            let node = p
                .node
                .as_deref()
                .map_or(String::new(), |n| format!(" on {}", esc(n)));
            format!(
                "<a class=\"moment\" href=\"#at-{t}\" data-t=\"{t}\" title=\"show this moment{node} in the diagram and the plots\">{}</a> ",
                secs(ns)
            )
        }
        None => String::new(),
    };
    format!("<li>{link}{}</li>", esc(&p.text))
}

/// The whole page; `started` is when the report began, for the time it took.
pub fn render(o: &Outcome, journal: &Journal, nodes: &[String], started: Instant) -> String {
    let data = data::page_data(o, journal, nodes);
    let (word, class) = (o.valid, verdict_class(o.valid));
    let mut h = String::with_capacity(data.len() + SCRIPT.len() + 16_384);
    macro_rules! put {
        ($($t:tt)*) => {
            let _ = write!(h, $($t)*);
        };
    }
    put!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{} {} seed {}: {word}</title><style>{STYLE}</style></head><body>\n",
        esc(&o.about.workload),
        o.about.node_count,
        o.seed
    );
    put!(
        "<header><h1><span class=\"verdict {class}\">{word:#}</span> {} <small>{} {} of {} · {} clients · seed {}</small></h1>",
        esc(&o.about.workload),
        o.about.node_count,
        if o.about.node_count == 1 { "node" } else { "nodes" },
        esc(&o.about.node),
        o.sim.clients,
        o.seed
    );
    if !o.problems.is_empty() {
        put!("<ol class=\"reasons\">");
        for p in &o.problems {
            h.push_str(&reason_html(p));
        }
        put!("</ol>");
    }
    for w in &o.warnings {
        put!("<p class=\"warning\">warning: {}</p>", esc(w));
    }
    put!(
        "<p class=\"replay\"><span>replay</span> <code id=\"command\">{}</code> <button id=\"copy\" type=\"button\">copy</button></p>",
        esc(&o.command)
    );
    // One small table per group of figures, side by side.
    put!("<div class=\"figures\">");
    let mut group: Option<String> = None;
    for [g, k, v] in data::figures(o) {
        if group.as_deref() != Some(g.as_str()) {
            if group.is_some() {
                put!("</table>");
            }
            put!("<table><caption>{}</caption>", esc(&g));
            group = Some(g);
        }
        put!("<tr><th>{}</th><td>{}</td></tr>", esc(&k), esc(&v));
    }
    if group.is_some() {
        put!("</table>");
    }
    if !o.summary.is_empty() {
        put!("<ul class=\"summary\">");
        for line in &o.summary {
            put!("<li>{}</li>", esc(line));
        }
        put!("</ul>");
    }
    put!("</div></header>\n");
    put!(
        "<section id=\"time\"><h2>Over time <small>drag across a plot to choose the diagram's window; faults are shaded</small></h2>\
         <div id=\"plots\"></div></section>\n\
         <section id=\"messages\"><h2>Messages <small>{} in all; wheel to zoom, drag to move, hover an arrow for its body</small></h2>\
         <div id=\"controls\"></div><div id=\"diagram\"></div></section>\n\
         <div id=\"tip\" hidden></div><pre id=\"selftest\" hidden></pre>\n",
        journal.entries.len()
    );
    put!(
        "<footer>written by the glomers harness in <span id=\"gen\">{:.0}</span> ms · \
         <a href=\"messages.jsonl\">messages.jsonl</a> · <a href=\"history.jsonl\">history.jsonl</a> · \
         <a href=\"../../index.html\">all runs</a></footer>\n",
        started.elapsed().as_secs_f64() * 1e3
    );
    put!("<script id=\"data\" type=\"application/json\">{data}</script>\n<script>{SCRIPT}</script>\n</body></html>\n");
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_what_html_would_read() {
        assert_eq!(
            esc(r#"<a href="x">&'"#),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }

    #[test]
    fn a_reason_links_its_moment_and_escapes_its_sentence() {
        let p = Problem::new("value <3> was lost: broadcast to n1 at 1.250 s")
            .at(1_250_400_000)
            .node("n1");
        assert_eq!(
            reason_html(&p),
            "<li><a class=\"moment\" href=\"#at-1250400\" data-t=\"1250400\" \
             title=\"show this moment on n1 in the diagram and the plots\">1.250 s</a> \
             value &lt;3&gt; was lost: broadcast to n1 at 1.250 s</li>"
        );
        // No moment, no link.
        assert_eq!(
            reason_html(&Problem::new("15 values were lost in all")),
            "<li>15 values were lost in all</li>"
        );
    }
}
