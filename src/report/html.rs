//! The HTML index of a report: one self-contained page (no scripts, no external files) that a
//! QA lead opens first. The totals; the calls to review first (worst first), each linking to its
//! scorecard page; the agents and the teams (queues) with their pass rate per rule and their
//! weekly trend; the trend of the whole selection by week.

use std::fmt::Write as _;
use std::io::{self, Write};

use crate::rules::RuleId;
use crate::scorecard::html::escape;

use super::{page_name, GroupStats, Report, WeekPoint};

const STYLE: &str = r#"
body{font:14px/1.5 system-ui,-apple-system,"PingFang SC","Noto Sans CJK SC","Microsoft YaHei",sans-serif;margin:0;color:#1d2330;background:#f5f6f8}
main{max-width:1300px;margin:0 auto;padding:24px}
section{background:#fff;border-radius:10px;padding:16px 24px;margin-top:16px;box-shadow:0 1px 3px #0002;overflow-x:auto}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:0 0 10px}
.meta{color:#556;font-size:13px}
.totals{display:flex;gap:32px;margin-top:10px}.totals b{display:block;font-size:26px}
table{border-collapse:collapse;width:100%}
td,th{text-align:left;padding:6px;border-bottom:1px solid #e6e8ee;vertical-align:middle;white-space:nowrap}
th{font-size:12px;color:#556;font-weight:600}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
.good{color:#18794e}.mid{color:#b8860b}.bad{color:#c62828}
.rate{display:inline-block;min-width:44px;text-align:center;border-radius:4px;padding:1px 4px;font-variant-numeric:tabular-nums}
.rate.good{background:#e6f4ec}.rate.mid{background:#fdf3dc}.rate.bad{background:#fde8e8}.rate.none{color:#aab}
.spark{display:inline-flex;align-items:flex-end;gap:2px;height:24px}
.spark i{display:inline-block;width:7px;background:#3b6fd8;border-radius:1px}
.bar{display:inline-block;height:10px;background:#3b6fd8;border-radius:2px;vertical-align:middle}
.failed{color:#c62828;font-size:12px;white-space:normal}
a{color:#2456c4;text-decoration:none}a:hover{text-decoration:underline}
"#;

fn score_class(score: f64, full: f64) -> &'static str {
    match score * 100.0 / full.max(1.0) {
        s if s >= 90.0 => "good",
        s if s >= 70.0 => "mid",
        _ => "bad",
    }
}

fn rate_cell(rate: Option<f64>) -> String {
    match rate {
        None => "<span class=\"rate none\">–</span>".into(),
        Some(r) => {
            let class = if r >= 0.9 {
                "good"
            } else if r >= 0.7 {
                "mid"
            } else {
                "bad"
            };
            format!("<span class=\"rate {class}\">{:.0}%</span>", r * 100.0)
        }
    }
}

/// Weekly mean scores as small bars (height = mean score), oldest first; the last 12 weeks.
fn sparkline(weeks: &[WeekPoint], full: f64) -> String {
    let mut s = String::from("<span class=\"spark\">");
    for w in weeks.iter().rev().take(12).rev() {
        let _ = write!(
            s,
            "<i style=\"height:{:.0}%\" title=\"{} · {} call(s) · mean {:.1}\"></i>",
            (w.mean_score / full.max(1.0) * 100.0).clamp(4.0, 100.0),
            escape(&w.week),
            w.calls,
            w.mean_score
        );
    }
    s.push_str("</span>");
    s
}

impl Report {
    /// Writes the index page; `calls_dir` is where the scorecard pages are, relative to it.
    pub fn write_html_index(&self, out: &mut dyn Write, calls_dir: &str) -> io::Result<()> {
        out.write_all(self.to_html(calls_dir).as_bytes())
    }

    pub fn to_html(&self, calls_dir: &str) -> String {
        let full = self
            .calls
            .first()
            .map_or(100.0, |c| f64::from(c.full_score));
        let mut h = String::with_capacity(64 * 1024 + self.calls.len() * 300);
        let _ = write!(
            h,
            "<!DOCTYPE html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\">\
             <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
             <title>zhijian 质检 · {} call(s)</title><style>{STYLE}</style></head><body><main>",
            self.calls.len()
        );
        let _ = write!(
            h,
            "<section><h1>质检报告 · QA report</h1><div class=\"meta\">{}</div><div class=\"totals\">\
             <div><b>{}</b>calls</div><div><b class=\"{}\">{:.1}</b>mean score</div>\
             <div><b class=\"bad\">{}</b>critical failures</div><div><b>{}</b>agents</div></div></section>",
            escape(&self.filter_text()),
            self.total.calls,
            score_class(self.total.mean_score, full),
            self.total.mean_score,
            self.total.critical_failures,
            self.agents.iter().filter(|a| a.name.is_some()).count(),
        );
        self.calls_table(&mut h, calls_dir, full);
        group_table(&mut h, "Agents · 坐席", "agent", &self.agents, full);
        group_table(&mut h, "Teams (queues) · 队列", "queue", &self.teams, full);
        self.weeks_table(&mut h, full);
        h.push_str("</main></body></html>\n");
        h
    }

    fn filter_text(&self) -> String {
        let f = &self.filter;
        let mut parts = Vec::new();
        match (f.from, f.to) {
            (Some(a), Some(b)) => parts.push(format!("{a} to {b}")),
            (Some(a), None) => parts.push(format!("from {a}")),
            (None, Some(b)) => parts.push(format!("until {b}")),
            (None, None) => {}
        }
        if let Some(a) = &f.agent {
            parts.push(format!("agent {a}"));
        }
        match (f.rule, f.verdict) {
            (Some(r), Some(v)) => parts.push(format!("{r}: {v}")),
            (Some(r), None) => parts.push(format!("{r} applied")),
            (None, Some(v)) => parts.push(format!("any rule {v}")),
            (None, None) => {}
        }
        match (f.min_score, f.max_score) {
            (Some(a), Some(b)) => parts.push(format!("score {a}–{b}")),
            (Some(a), None) => parts.push(format!("score ≥ {a}")),
            (None, Some(b)) => parts.push(format!("score ≤ {b}")),
            (None, None) => {}
        }
        if parts.is_empty() {
            "all stored calls".into()
        } else {
            parts.join(" · ")
        }
    }

    fn calls_table(&self, h: &mut String, calls_dir: &str, full: f64) {
        let _ = write!(
            h,
            "<section id=\"calls\"><h2>Review first · 优先复核 ({} call(s), worst first)</h2><table>\
             <tr><th>call</th><th class=\"n\">score</th><th>failed rules</th><th>agent</th><th>queue</th>\
             <th>started</th><th class=\"n\">length</th></tr>",
            self.calls.len()
        );
        for c in &self.calls {
            let failed: Vec<&str> = c.failed().map(RuleId::as_str).collect();
            let _ = write!(
                h,
                "<tr><td><a href=\"{dir}/{page}\">{id}</a></td><td class=\"n {class}\"><b>{score}</b>{critical}</td>\
                 <td class=\"failed\">{failed}</td><td>{agent}</td><td>{queue}</td><td>{started}</td>\
                 <td class=\"n\">{len}</td></tr>",
                dir = escape(calls_dir),
                page = escape(&page_name(c)),
                id = escape(&c.call_id),
                class = score_class(f64::from(c.score), full),
                score = c.score,
                critical = if c.critical_failure { " 一票否决" } else { "" },
                failed = escape(&failed.join(" · ")),
                agent = escape(c.agent_id.as_deref().unwrap_or("–")),
                queue = escape(c.queue.as_deref().unwrap_or("–")),
                started = c.started_at.map_or("–".into(), |t| escape(&t.to_string())),
                len = crate::scorecard::clock(crate::party::Seconds(c.duration)),
            );
        }
        h.push_str("</table></section>");
    }

    fn weeks_table(&self, h: &mut String, full: f64) {
        h.push_str(
            "<section id=\"weeks\"><h2>Trend by week · 周趋势</h2><table><tr><th>week</th>\
             <th class=\"n\">calls</th><th class=\"n\">mean score</th><th></th><th>rules passed</th></tr>",
        );
        if self.total.weeks.is_empty() {
            h.push_str("<tr><td colspan=\"5\" class=\"meta\">no call has a start time (sidecar \"started_at\")</td></tr>");
        }
        for w in &self.total.weeks {
            let _ = write!(
                h,
                "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n {}\">{:.1}</td>\
                 <td><span class=\"bar\" style=\"width:{:.0}px\"></span></td><td>{}</td></tr>",
                escape(&w.week),
                w.calls,
                score_class(w.mean_score, full),
                w.mean_score,
                (w.mean_score / full.max(1.0) * 200.0).max(1.0),
                rate_cell(w.pass_rate)
            );
        }
        h.push_str("</table></section>");
    }
}

fn group_table(h: &mut String, title: &str, what: &str, groups: &[GroupStats], full: f64) {
    let _ = write!(
        h,
        "<section id=\"{what}s\"><h2>{title}</h2><table><tr><th>{what}</th><th class=\"n\">calls</th>\
         <th class=\"n\">mean</th><th class=\"n\">critical</th><th>weekly mean</th>"
    );
    for rule in RuleId::ALL {
        let _ = write!(
            h,
            "<th title=\"pass rate: pass / (pass + fail)\">{rule}</th>"
        );
    }
    h.push_str("</tr>");
    for g in groups {
        let _ = write!(
            h,
            "<tr><td><b>{}</b></td><td class=\"n\">{}</td><td class=\"n {}\">{:.1}</td><td class=\"n\">{}</td><td>{}</td>",
            escape(g.name.as_deref().unwrap_or("(not given)")),
            g.calls,
            score_class(g.mean_score, full),
            g.mean_score,
            g.critical_failures,
            sparkline(&g.weeks, full)
        );
        for r in &g.rules {
            let _ = write!(
                h,
                "<td title=\"{} pass · {} fail · {} n/a\">{}</td>",
                r.pass,
                r.fail,
                r.not_applicable,
                rate_cell(r.pass_rate())
            );
        }
        h.push_str("</tr>");
    }
    h.push_str("</table></section>");
}

#[cfg(test)]
mod tests {
    use super::super::tests::row;
    use super::*;
    use crate::store::query::Filter;

    #[test]
    fn the_index_links_every_call_worst_first_and_has_agent_team_and_week_views() {
        let mut bad = row(
            "c<1>",
            Some("A1"),
            Some("2024-W18"),
            60,
            &[RuleId::Greeting],
        );
        bad.row = 3;
        let report = Report::build(
            Filter::default(),
            vec![bad, row("c2", Some("A2"), Some("2024-W19"), 100, &[])],
        );
        let page = report.to_html("calls");
        assert!(
            page.contains("href=\"calls/c_1_~3.html\">c&lt;1&gt;</a>"),
            "{page}"
        );
        assert!(
            page.find("c&lt;1&gt;").unwrap() < page.find(">c2</a>").unwrap(),
            "worst first"
        );
        for id in [
            "id=\"calls\"",
            "id=\"agents\"",
            "id=\"queues\"",
            "id=\"weeks\"",
            "2024-W19",
        ] {
            assert!(page.contains(id), "no {id}");
        }
        assert!(
            !page.contains("<script") && !page.contains("http"),
            "self-contained"
        );
    }
}
