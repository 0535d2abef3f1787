//! The HTML scorecard: one self-contained page (no scripts, no external files) a QA reviewer
//! opens in a browser. Header with the score; both parties on a timeline with the call events
//! and every finding marked; each rule with its verdict, deduction, evidence and what to say
//! instead; then the whole transcript, with the utterances that hold findings highlighted.

use std::fmt::Write as _;
use std::io::{self, Write};

use crate::call::EventKind;
use crate::party::Party;
use crate::rules::Verdict;

use super::{clock, Scorecard};

/// Escapes text for HTML content and attribute values.
pub fn escape(s: &str) -> String {
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

const STYLE: &str = r#"
body{font:15px/1.5 system-ui,-apple-system,"PingFang SC","Noto Sans CJK SC","Microsoft YaHei",sans-serif;margin:0;color:#1d2330;background:#f5f6f8}
main{max-width:1100px;margin:0 auto;padding:24px}
header{display:flex;align-items:center;gap:24px;background:#fff;border-radius:10px;padding:16px 24px;box-shadow:0 1px 3px #0002}
.score{font-size:44px;font-weight:700;min-width:120px;text-align:center}
.score small{font-size:16px;color:#667}
.good{color:#18794e}.mid{color:#b8860b}.bad{color:#c62828}
h1{font-size:20px;margin:0}h2{font-size:17px;margin:28px 0 10px}
.meta{color:#556;font-size:13px}
section{background:#fff;border-radius:10px;padding:16px 24px;margin-top:16px;box-shadow:0 1px 3px #0002}
.timeline{position:relative;margin:8px 0 4px 70px}
.lane{position:relative;height:26px;margin:6px 0;background:#eef0f4;border-radius:4px}
.lane span.label{position:absolute;left:-70px;width:62px;text-align:right;font-size:13px;color:#445;line-height:26px}
.utt{position:absolute;top:3px;height:20px;border-radius:3px;opacity:.85}
.agent .utt{background:#3b6fd8}.customer .utt{background:#2e9d6a}.mixed .utt{background:#7a6ad8}
.utt.flagged{outline:2px solid #c62828;outline-offset:1px}
.marks{position:relative;height:22px}
.mark{position:absolute;top:0;width:2px;height:22px;background:#c62828}
.mark.evidence{background:#b8860b}
.event{position:absolute;top:0;font-size:11px;color:#556;white-space:nowrap;transform:translateX(-50%)}
.event::before{content:"";display:block;width:1px;height:8px;background:#889;margin:0 auto}
.axis{display:flex;justify-content:space-between;font-size:11px;color:#889}
table{border-collapse:collapse;width:100%}
td,th{text-align:left;padding:8px 6px;border-bottom:1px solid #e6e8ee;vertical-align:top}
th{font-size:13px;color:#556;font-weight:600}
.v{font-weight:700;white-space:nowrap}.v.pass{color:#18794e}.v.fail{color:#c62828}.v.not_applicable{color:#889}
.finding{margin:6px 0 0;padding:6px 10px;background:#fff5f5;border-left:3px solid #c62828;border-radius:3px}
.finding.evidence{background:#fffaf0;border-color:#b8860b}
.finding .when{font-size:12px;color:#667}
.words{font-size:16px}
.suggest{color:#18794e;font-size:13px}
.transcript .line{display:flex;gap:10px;padding:3px 0}
.transcript .t{color:#889;font-size:12px;min-width:120px;font-variant-numeric:tabular-nums}
.transcript .p{min-width:36px;font-weight:600}
.transcript .agent .p{color:#3b6fd8}.transcript .customer .p{color:#2e9d6a}
.transcript .flagged{background:#fff0f0}
.warn{color:#b8860b}
"#;

impl Scorecard {
    /// The page as a string.
    pub fn to_html(&self) -> String {
        let mut h = String::with_capacity(16 * 1024);
        let class = match self.score * 100 / self.full_score.max(1) {
            90.. => "good",
            70..=89 => "mid",
            _ => "bad",
        };
        let (pass, fail, na) = self.tally();
        let _ = write!(
            h,
            "<!DOCTYPE html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\">\
             <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
             <title>{id} · {score}/{full} · zhijian 质检</title><style>{STYLE}</style></head><body><main>",
            id = escape(&self.call_id),
            score = self.score,
            full = self.full_score,
        );
        let _ = write!(
            h,
            "<header><div class=\"score {class}\" id=\"score\">{score}<small>/{full}</small></div><div>\
             <h1>{id}</h1><div class=\"meta\">{dur} · {layout} · {pass} pass · {fail} fail · {na} n/a{critical}{partial}</div>\
             <div class=\"meta\">{std} {ver}{source}</div></div></header>",
            score = self.score,
            full = self.full_score,
            id = escape(&self.call_id),
            dur = clock(self.duration),
            layout = if self.layout == crate::rules::Layout::Mono { "mono (one mixed channel)" } else { "agent / customer" },
            critical = if self.critical_failure { " · <b class=\"bad\">一票否决 critical failure</b>" } else { "" },
            partial = if self.partial { " · <b class=\"mid\">partial: not heard in full</b>" } else { "" },
            std = escape(&self.standard.name),
            ver = escape(&self.standard.version),
            source = self.source.as_ref().map_or(String::new(), |s| format!(" · {}", escape(&s.display().to_string()))),
        );
        self.timeline(&mut h);
        self.rules_table(&mut h);
        self.transcript(&mut h);
        h.push_str("</main></body></html>\n");
        h
    }

    pub fn write_html(&self, out: &mut dyn Write) -> io::Result<()> {
        out.write_all(self.to_html().as_bytes())
    }

    /// Whether an utterance holds a finding of a failed rule.
    fn flagged(&self, party: Party, start: f64, end: f64) -> bool {
        self.rules
            .iter()
            .filter(|r| r.verdict == Verdict::Fail)
            .flat_map(|r| &r.findings)
            .any(|f| {
                f.violation
                    && !f.text.is_empty()
                    && f.party == party
                    && f.start.0 < end + 0.01
                    && f.end.0 > start - 0.01
            })
    }

    fn timeline(&self, h: &mut String) {
        let first_event = self.events.iter().map(|e| e.t.0).fold(0.0, f64::min);
        let (from, to) = (first_event.min(0.0), self.duration.0.max(1.0));
        let pos = |t: f64| ((t - from) / (to - from) * 100.0).clamp(0.0, 100.0);
        h.push_str("<section><h2>时间轴 Timeline</h2><div class=\"timeline\">");
        let parties: Vec<Party> = if self.layout == crate::rules::Layout::Mono {
            vec![Party::Mixed]
        } else {
            vec![Party::Agent, Party::Customer]
        };
        for party in parties {
            let _ = write!(
                h,
                "<div class=\"lane {}\"><span class=\"label\">{}</span>",
                party.as_str(),
                party.label()
            );
            for u in self.utterances.iter().filter(|u| u.party == party) {
                let flagged = if self.flagged(party, u.start.0, u.end.0) {
                    " flagged"
                } else {
                    ""
                };
                let _ = write!(
                    h,
                    "<div class=\"utt{flagged}\" style=\"left:{:.3}%;width:{:.3}%\" title=\"[{}–{}] {}\"></div>",
                    pos(u.start.0),
                    (pos(u.end.0) - pos(u.start.0)).max(0.2),
                    clock(u.start),
                    clock(u.end),
                    escape(&u.text)
                );
            }
            h.push_str("</div>");
        }
        h.push_str("<div class=\"marks\">");
        for r in self
            .rules
            .iter()
            .filter(|r| r.verdict != Verdict::NotApplicable)
        {
            for f in &r.findings {
                let kind = if f.violation && r.verdict == Verdict::Fail {
                    ""
                } else {
                    " evidence"
                };
                let _ = write!(
                    h,
                    "<div class=\"mark{kind}\" style=\"left:{:.3}%\" title=\"{} {}: {}\"></div>",
                    pos(f.start.0),
                    clock(f.start),
                    r.rule,
                    escape(&f.message)
                );
            }
        }
        h.push_str("</div><div class=\"marks\">");
        for e in &self.events {
            let label = match &e.kind {
                EventKind::Ring => "振铃".to_string(),
                EventKind::Answer => "接听".to_string(),
                EventKind::HoldStart => "保持".to_string(),
                EventKind::HoldEnd => "恢复".to_string(),
                EventKind::Hangup { party: Some(p) } => format!("{}挂机", p.label()),
                EventKind::Hangup { party: None } => "挂机".to_string(),
                EventKind::Other(_) => continue,
            };
            let inferred = if e.inferred { "*" } else { "" };
            let _ =
                write!(
                h,
                "<div class=\"event\" style=\"left:{:.3}%\" title=\"{}{}\">{label}{inferred}</div>",
                pos(e.t.0),
                clock(e.t),
                if e.inferred { " (inferred from tones)" } else { "" }
            );
        }
        let _ = write!(
            h,
            "</div><div class=\"axis\"><span>{}</span><span>{}</span></div></div></section>",
            clock(crate::party::Seconds(from)),
            clock(crate::party::Seconds(to))
        );
    }

    fn rules_table(&self, h: &mut String) {
        h.push_str(
            "<section><h2>规则 Rules</h2><table><thead><tr><th>规则</th><th>结果</th><th>扣分</th><th>说明与证据</th></tr></thead><tbody>",
        );
        for r in &self.rules {
            let verdict = match r.verdict {
                Verdict::Pass => "通过 pass",
                Verdict::Fail if r.critical => "不合格 fail · 一票否决",
                Verdict::Fail => "不合格 fail",
                Verdict::NotApplicable => "不适用 n/a",
            };
            let deduction = if r.deduction > 0 {
                format!("−{}", r.deduction)
            } else {
                String::new()
            };
            let _ = write!(
                h,
                "<tr id=\"rule-{id}\" data-verdict=\"{v}\"><td><b>{name}</b><br><span class=\"meta\">{id}</span></td>\
                 <td class=\"v {v}\">{verdict}</td><td>{deduction}</td><td>{note}",
                id = r.rule,
                v = r.verdict,
                name = escape(&r.name),
                note = escape(&r.note),
            );
            for f in &r.findings {
                let kind = if f.violation && r.verdict == Verdict::Fail {
                    ""
                } else {
                    " evidence"
                };
                let _ = write!(
                    h,
                    "<div class=\"finding{kind}\"><div class=\"when\">{}–{} · {}</div>",
                    clock(f.start),
                    clock(f.end),
                    f.party.label()
                );
                if !f.text.is_empty() {
                    let _ = write!(h, "<div class=\"words\">「{}」</div>", escape(&f.text));
                }
                let _ = write!(h, "<div>{}</div>", escape(&f.message));
                if let Some(s) = f.suggestion.as_ref().filter(|_| f.violation) {
                    let _ = write!(h, "<div class=\"suggest\">建议 → {}</div>", escape(s));
                }
                h.push_str("</div>");
            }
            h.push_str("</td></tr>");
        }
        h.push_str("</tbody></table></section>");
    }

    fn transcript(&self, h: &mut String) {
        h.push_str("<section class=\"transcript\"><h2>通话记录 Transcript</h2>");
        for u in &self.utterances {
            let flagged = if self.flagged(u.party, u.start.0, u.end.0) {
                " flagged"
            } else {
                ""
            };
            let text = if u.text.is_empty() {
                "（听不清）"
            } else {
                &u.text
            };
            let _ = write!(
                h,
                "<div class=\"line {}{flagged}\"><span class=\"t\">{}–{}</span><span class=\"p\">{}</span><span>{}</span></div>",
                u.party.as_str(),
                clock(u.start),
                clock(u.end),
                u.party.label(),
                escape(text)
            );
        }
        for w in &self.warnings {
            let _ = write!(h, "<div class=\"warn\">! {}</div>", escape(w));
        }
        h.push_str("</section>");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped() {
        assert_eq!(
            escape("<b>\"您好\" & 'x'</b>"),
            "&lt;b&gt;&quot;您好&quot; &amp; &#39;x&#39;&lt;/b&gt;"
        );
    }
}
