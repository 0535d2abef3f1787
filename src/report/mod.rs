//! Reports over the store: the calls a filter selects, worst first, and the agent and team
//! views — pass rates per rule, weekly trends.
//!
//! **In:** the [`CallRow`]s a [`Filter`] selected ([`crate::store::Store::select`]). **Out:** a
//! [`Report`] (the numbers) and its renderings: CSV ([`Report::write_calls_csv`],
//! [`Report::write_agents_csv`]), JSON Lines with a `{"type": …, "data": …}` envelope
//! ([`Report::write_json_lines`]) and a self-contained HTML index ([`html`]) linking to each
//! call's scorecard page. Runs on the calling thread.
//!
//! A pass rate counts the calls a rule applied to: pass / (pass + fail); `not_applicable` calls
//! are left out of it (a mono recording says nothing about interruptions). A team is a queue.

pub mod html;

use std::collections::BTreeMap;
use std::io::{self, Write};

use serde::Serialize;
use serde_json::json;

use crate::rules::{RuleId, Verdict};
use crate::store::query::{CallRow, Filter};

/// How a group of calls (an agent's, a queue's, a week's, all of them) did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupStats {
    /// The agent id, queue or week; `None` for calls that do not say.
    pub name: Option<String>,
    pub calls: usize,
    pub mean_score: f64,
    pub critical_failures: usize,
    /// One per rule of the standard, in its order.
    pub rules: Vec<RuleStats>,
    /// By ISO week (calls with a start time only), oldest first.
    pub weeks: Vec<WeekPoint>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct RuleStats {
    pub rule: RuleId,
    pub pass: usize,
    pub fail: usize,
    pub not_applicable: usize,
}

impl RuleStats {
    /// pass / (pass + fail), or `None` when the rule applied to no call.
    pub fn pass_rate(&self) -> Option<f64> {
        let judged = self.pass + self.fail;
        (judged > 0).then(|| self.pass as f64 / judged as f64)
    }
}

/// One week of a trend.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WeekPoint {
    pub week: String,
    pub calls: usize,
    pub mean_score: f64,
    /// Passed rule verdicts over judged ones, across all rules.
    pub pass_rate: Option<f64>,
}

/// A report: the selected calls (worst first) and their groupings.
#[derive(Debug, Clone)]
pub struct Report {
    pub filter: Filter,
    pub calls: Vec<CallRow>,
    pub total: GroupStats,
    /// By agent id, the worst mean score first; calls without an agent last.
    pub agents: Vec<GroupStats>,
    /// By queue, likewise.
    pub teams: Vec<GroupStats>,
}

impl Report {
    pub fn build(filter: Filter, calls: Vec<CallRow>) -> Report {
        let all: Vec<&CallRow> = calls.iter().collect();
        let total = stats(None, &all);
        let agents = grouped(&calls, |c| c.agent_id.clone());
        let teams = grouped(&calls, |c| c.queue.clone());
        Report {
            filter,
            calls,
            total,
            agents,
            teams,
        }
    }

    /// One row per call: who, when, the score, the failed rules, then every rule's verdict.
    pub fn write_calls_csv(&self, out: &mut dyn Write) -> io::Result<()> {
        let mut header: Vec<String> = [
            "call_id",
            "started_at",
            "week",
            "agent_id",
            "queue",
            "duration_s",
            "score",
            "full_score",
            "critical_failure",
            "failed_rules",
            "rule_set",
            "source",
        ]
        .map(String::from)
        .to_vec();
        header.extend(RuleId::ALL.iter().map(|r| r.as_str().to_string()));
        csv_line(out, &header)?;
        for c in &self.calls {
            let mut fields = vec![
                c.call_id.clone(),
                c.started_at.map(|t| t.to_string()).unwrap_or_default(),
                c.week.clone().unwrap_or_default(),
                c.agent_id.clone().unwrap_or_default(),
                c.queue.clone().unwrap_or_default(),
                format!("{:.3}", c.duration),
                c.score.to_string(),
                c.full_score.to_string(),
                c.critical_failure.to_string(),
                c.failed().map(RuleId::as_str).collect::<Vec<_>>().join(" "),
                c.rule_set.clone(),
                c.source.clone(),
            ];
            fields.extend(
                RuleId::ALL
                    .iter()
                    .map(|r| c.verdict(*r).map_or("", Verdict::as_str).to_string()),
            );
            csv_line(out, &fields)?;
        }
        Ok(())
    }

    /// One row per agent and rule: verdict counts and the pass rate.
    pub fn write_agents_csv(&self, out: &mut dyn Write) -> io::Result<()> {
        csv_line(
            out,
            &[
                "agent_id",
                "calls",
                "mean_score",
                "rule",
                "pass",
                "fail",
                "not_applicable",
                "pass_rate",
            ]
            .map(String::from),
        )?;
        for a in &self.agents {
            for r in &a.rules {
                csv_line(
                    out,
                    &[
                        a.name.clone().unwrap_or_default(),
                        a.calls.to_string(),
                        format!("{:.1}", a.mean_score),
                        r.rule.as_str().to_string(),
                        r.pass.to_string(),
                        r.fail.to_string(),
                        r.not_applicable.to_string(),
                        r.pass_rate().map(|p| format!("{p:.3}")).unwrap_or_default(),
                    ],
                )?;
            }
        }
        Ok(())
    }

    /// JSON Lines: `{"type":"call",…}` per call (worst first), then `agent`, `team` and
    /// `week` lines, then one `summary`.
    pub fn write_json_lines(&self, out: &mut dyn Write) -> io::Result<()> {
        let mut line = |kind: &str, data: serde_json::Value| -> io::Result<()> {
            serde_json::to_writer(&mut *out, &json!({"type": kind, "data": data}))?;
            out.write_all(b"\n")
        };
        for c in &self.calls {
            let verdicts: serde_json::Map<String, serde_json::Value> = c
                .verdicts
                .iter()
                .map(|(r, v, _)| (r.as_str().to_string(), json!(v)))
                .collect();
            line(
                "call",
                json!({
                    "call_id": c.call_id,
                    "started_at": c.started_at.map(|t| t.to_string()),
                    "week": c.week,
                    "agent_id": c.agent_id,
                    "queue": c.queue,
                    "duration": c.duration,
                    "score": c.score,
                    "full_score": c.full_score,
                    "critical_failure": c.critical_failure,
                    "failed_rules": c.failed().collect::<Vec<_>>(),
                    "verdicts": verdicts,
                    "rule_set": c.rule_set,
                    "source": c.source,
                }),
            )?;
        }
        for (kind, groups) in [("agent", &self.agents), ("team", &self.teams)] {
            for g in groups {
                line(kind, group_json(g))?;
            }
        }
        for w in &self.total.weeks {
            line("week", json!(w))?;
        }
        let mut summary = group_json(&self.total);
        summary["filter"] = json!({
            "from": self.filter.from.map(|d| d.to_string()),
            "to": self.filter.to.map(|d| d.to_string()),
            "agent": self.filter.agent,
            "rule": self.filter.rule,
            "verdict": self.filter.verdict,
            "min_score": self.filter.min_score,
            "max_score": self.filter.max_score,
        });
        line("summary", summary)
    }
}

fn group_json(g: &GroupStats) -> serde_json::Value {
    let rules: serde_json::Map<String, serde_json::Value> = g
        .rules
        .iter()
        .map(|r| {
            (
                r.rule.as_str().to_string(),
                json!({"pass": r.pass, "fail": r.fail, "not_applicable": r.not_applicable,
                       "pass_rate": r.pass_rate()}),
            )
        })
        .collect();
    json!({
        "name": g.name,
        "calls": g.calls,
        "mean_score": g.mean_score,
        "critical_failures": g.critical_failures,
        "rules": rules,
        "weeks": g.weeks,
    })
}

/// Groups by a key, worst mean score first, the calls without a key last.
fn grouped(calls: &[CallRow], key: impl Fn(&CallRow) -> Option<String>) -> Vec<GroupStats> {
    let mut groups: BTreeMap<Option<String>, Vec<&CallRow>> = BTreeMap::new();
    for c in calls {
        groups.entry(key(c)).or_default().push(c);
    }
    let mut out: Vec<GroupStats> = groups
        .into_iter()
        .map(|(name, calls)| stats(name, &calls))
        .collect();
    out.sort_by(|a, b| {
        a.name
            .is_none()
            .cmp(&b.name.is_none())
            .then(a.mean_score.total_cmp(&b.mean_score))
            .then(a.name.cmp(&b.name))
    });
    out
}

fn mean(scores: impl Iterator<Item = u32>) -> f64 {
    let (sum, n) = scores.fold((0u64, 0usize), |(s, n), x| (s + u64::from(x), n + 1));
    if n == 0 {
        0.0
    } else {
        sum as f64 / n as f64
    }
}

fn stats(name: Option<String>, calls: &[&CallRow]) -> GroupStats {
    let rules = RuleId::ALL
        .iter()
        .map(|&rule| {
            let count = |v| calls.iter().filter(|c| c.verdict(rule) == Some(v)).count();
            RuleStats {
                rule,
                pass: count(Verdict::Pass),
                fail: count(Verdict::Fail),
                not_applicable: count(Verdict::NotApplicable),
            }
        })
        .collect();
    let mut by_week: BTreeMap<&str, Vec<&CallRow>> = BTreeMap::new();
    for c in calls {
        if let Some(week) = &c.week {
            by_week.entry(week).or_default().push(c);
        }
    }
    let weeks = by_week
        .into_iter()
        .map(|(week, calls)| {
            let verdicts = || {
                calls
                    .iter()
                    .flat_map(|c| c.verdicts.iter().map(|(_, v, _)| *v))
            };
            let pass = verdicts().filter(|v| *v == Verdict::Pass).count();
            let judged = verdicts().filter(|v| *v != Verdict::NotApplicable).count();
            WeekPoint {
                week: week.to_string(),
                calls: calls.len(),
                mean_score: mean(calls.iter().map(|c| c.score)),
                pass_rate: (judged > 0).then(|| pass as f64 / judged as f64),
            }
        })
        .collect();
    GroupStats {
        name,
        calls: calls.len(),
        mean_score: mean(calls.iter().map(|c| c.score)),
        critical_failures: calls.iter().filter(|c| c.critical_failure).count(),
        rules,
        weeks,
    }
}

/// One CSV record (RFC 4180: fields with commas, quotes or line breaks are quoted).
fn csv_line(out: &mut dyn Write, fields: &[String]) -> io::Result<()> {
    for (i, field) in fields.iter().enumerate() {
        if i > 0 {
            out.write_all(b",")?;
        }
        if field.contains([',', '"', '\n', '\r']) {
            write!(out, "\"{}\"", field.replace('"', "\"\""))?;
        } else {
            out.write_all(field.as_bytes())?;
        }
    }
    out.write_all(b"\r\n")
}

/// A file name for a call's scorecard page: the call id when it is a safe name; otherwise its
/// safe characters and the store row (`~` never appears in a name kept as is, so no two calls
/// share a file).
pub fn page_name(call: &CallRow) -> String {
    let safe: String = call
        .call_id
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if safe == call.call_id && !safe.starts_with('.') && !safe.is_empty() {
        format!("{safe}.html")
    } else {
        format!("{safe}~{}.html", call.row)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Timestamp;

    pub(crate) fn row(
        id: &str,
        agent: Option<&str>,
        week: Option<&str>,
        score: u32,
        fail: &[RuleId],
    ) -> CallRow {
        CallRow {
            row: 1,
            call_id: id.into(),
            source: format!("/calls/{id}.wav"),
            agent_id: agent.map(String::from),
            queue: Some("billing".into()),
            started_at: week.map(|_| Timestamp {
                unix: 1_714_519_800,
                offset_minutes: 480,
            }),
            week: week.map(String::from),
            duration: 60.0,
            score,
            full_score: 100,
            critical_failure: score == 0,
            rule_set: "1.0 (abcdef012345)".into(),
            verdicts: RuleId::ALL
                .iter()
                .map(|r| {
                    if fail.contains(r) {
                        (*r, Verdict::Fail, 10)
                    } else if *r == RuleId::Interruption {
                        (*r, Verdict::NotApplicable, 0)
                    } else {
                        (*r, Verdict::Pass, 0)
                    }
                })
                .collect(),
        }
    }

    fn report() -> Report {
        Report::build(
            Filter::default(),
            vec![
                row(
                    "c1",
                    Some("A1"),
                    Some("2024-W18"),
                    80,
                    &[RuleId::Greeting, RuleId::Closing],
                ),
                row("c2", Some("A1"), Some("2024-W19"), 100, &[]),
                row("c3", Some("A2"), Some("2024-W18"), 85, &[RuleId::Greeting]),
                row("c4", None, None, 100, &[]),
            ],
        )
    }

    #[test]
    fn agents_get_pass_rates_per_rule_worst_first_and_unknown_last() {
        let r = report();
        let names: Vec<Option<&str>> = r.agents.iter().map(|a| a.name.as_deref()).collect();
        assert_eq!(names, [Some("A2"), Some("A1"), None]);
        let a1 = &r.agents[1];
        assert_eq!((a1.calls, a1.mean_score), (2, 90.0));
        let greeting = a1
            .rules
            .iter()
            .find(|s| s.rule == RuleId::Greeting)
            .unwrap();
        assert_eq!(
            (greeting.pass, greeting.fail, greeting.pass_rate()),
            (1, 1, Some(0.5))
        );
        let interruption = a1
            .rules
            .iter()
            .find(|s| s.rule == RuleId::Interruption)
            .unwrap();
        assert_eq!(
            interruption.pass_rate(),
            None,
            "not applicable is not a pass or a fail"
        );
        assert_eq!(
            a1.weeks
                .iter()
                .map(|w| (w.week.as_str(), w.mean_score))
                .collect::<Vec<_>>(),
            [("2024-W18", 80.0), ("2024-W19", 100.0)]
        );
        assert_eq!(
            r.total.weeks.len(),
            2,
            "calls without a time are in no week"
        );
        assert_eq!(r.teams.len(), 1);
    }

    #[test]
    fn csv_quotes_what_needs_quoting_and_has_a_column_per_rule() {
        let mut r = report();
        r.calls[0].call_id = "c1, \"the\" one".into();
        let mut out = Vec::new();
        r.write_calls_csv(&mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 5);
        assert!(
            lines[0].starts_with("call_id,started_at,week,agent_id"),
            "{}",
            lines[0]
        );
        assert!(lines[0].ends_with(",silent_call,courtesy"), "{}", lines[0]);
        assert!(
            lines[1].starts_with("\"c1, \"\"the\"\" one\",2024-05-01T07:30:00+08:00,2024-W18,A1"),
            "{}",
            lines[1]
        );
        assert!(lines[1].contains(",greeting closing,"), "{}", lines[1]);
        let mut agents = Vec::new();
        r.write_agents_csv(&mut agents).unwrap();
        assert_eq!(
            String::from_utf8(agents).unwrap().lines().count(),
            1 + 3 * RuleId::ALL.len()
        );
    }

    #[test]
    fn json_lines_carry_a_type_and_data_envelope() {
        let mut out = Vec::new();
        report().write_json_lines(&mut out).unwrap();
        let lines: Vec<serde_json::Value> = String::from_utf8(out)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let kinds: Vec<&str> = lines.iter().map(|l| l["type"].as_str().unwrap()).collect();
        assert_eq!(
            kinds,
            [
                "call", "call", "call", "call", "agent", "agent", "agent", "team", "week", "week",
                "summary"
            ]
        );
        assert_eq!(
            lines[0]["data"]["failed_rules"],
            json!(["greeting", "closing"])
        );
        assert_eq!(
            lines[4]["data"]["rules"]["greeting"]["pass_rate"],
            json!(0.0)
        );
        assert_eq!(lines[10]["data"]["calls"], 4);
    }

    #[test]
    fn page_names_are_safe_and_distinct() {
        let mut c = row("c1", None, None, 100, &[]);
        assert_eq!(page_name(&c), "c1.html");
        c.call_id = "呼叫-7".into();
        assert_eq!(page_name(&c), "呼叫-7.html");
        c.call_id = "../etc/passwd".into();
        c.row = 9;
        assert_eq!(page_name(&c), ".._etc_passwd~9.html");
        c.call_id = "a/b".into();
        assert_eq!(page_name(&c), "a_b~9.html");
    }
}
