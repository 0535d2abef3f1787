//! Report queries: the calls a [`Filter`] selects, worst first, with their verdict per rule.
//!
//! **In:** a filter (date range on the call's own day, agent, rule and verdict, score band).
//! **Out:** [`CallRow`]s, one per selected call, ordered for review: critical failures first,
//! then by score, lowest first. Runs on the calling thread; reads only.

use std::collections::HashMap;

use rusqlite::types::Value;

use crate::rules::{RuleId, Verdict};

use super::{Date, Store, StoreError, Timestamp};

/// Which calls a report covers. Every condition given must hold.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filter {
    /// First day (inclusive), on the call's own clock; calls with no start time are left out
    /// when a date bound is given.
    pub from: Option<Date>,
    /// Last day (inclusive).
    pub to: Option<Date>,
    pub agent: Option<String>,
    /// With `verdict`: calls whose verdict on this rule is that; alone: calls the rule applied
    /// to (pass or fail).
    pub rule: Option<RuleId>,
    /// Alone: calls with at least one rule of this verdict.
    pub verdict: Option<Verdict>,
    pub min_score: Option<u32>,
    pub max_score: Option<u32>,
}

/// One selected call, as reports list it.
#[derive(Debug, Clone, PartialEq)]
pub struct CallRow {
    /// The store's row id.
    pub row: i64,
    pub call_id: String,
    pub source: String,
    pub agent_id: Option<String>,
    pub queue: Option<String>,
    pub started_at: Option<Timestamp>,
    /// ISO week of the call's day (`2024-W18`), when its start is known.
    pub week: Option<String>,
    pub duration: f64,
    pub score: u32,
    pub full_score: u32,
    pub critical_failure: bool,
    /// The standard's version and the rule set's fingerprint (first 12 hex digits).
    pub rule_set: String,
    /// Every rule's verdict and deduction, in the standard's order.
    pub verdicts: Vec<(RuleId, Verdict, u32)>,
}

impl CallRow {
    /// The rules this call failed.
    pub fn failed(&self) -> impl Iterator<Item = RuleId> + '_ {
        self.verdicts
            .iter()
            .filter(|(_, v, _)| *v == Verdict::Fail)
            .map(|(r, _, _)| *r)
    }

    pub fn verdict(&self, rule: RuleId) -> Option<Verdict> {
        self.verdicts
            .iter()
            .find(|(r, _, _)| *r == rule)
            .map(|(_, v, _)| *v)
    }
}

impl Filter {
    /// The `WHERE` clause over `calls c`, and its parameters.
    fn sql(&self) -> (String, Vec<Value>) {
        let mut conditions = vec!["1".to_string()];
        let mut values = Vec::new();
        let mut push = |condition: &str, value: Value| {
            values.push(value);
            conditions.push(condition.replace('?', &format!("?{}", values.len())));
        };
        if let Some(from) = self.from {
            push("c.local_date >= ?", Value::Text(from.to_string()));
        }
        if let Some(to) = self.to {
            push("c.local_date <= ?", Value::Text(to.to_string()));
        }
        if let Some(agent) = &self.agent {
            push("c.agent_id = ?", Value::Text(agent.clone()));
        }
        if let Some(min) = self.min_score {
            push("c.score >= ?", Value::Integer(min.into()));
        }
        if let Some(max) = self.max_score {
            push("c.score <= ?", Value::Integer(max.into()));
        }
        match (self.rule, self.verdict) {
            (Some(rule), Some(verdict)) => {
                values.push(Value::Text(rule.as_str().into()));
                values.push(Value::Text(verdict.as_str().into()));
                conditions.push(format!(
                    "EXISTS (SELECT 1 FROM results r WHERE r.call = c.id AND r.rule = ?{} AND r.verdict = ?{})",
                    values.len() - 1,
                    values.len()
                ));
            }
            (Some(rule), None) => push(
                "EXISTS (SELECT 1 FROM results r WHERE r.call = c.id AND r.rule = ? AND r.verdict <> 'not_applicable')",
                Value::Text(rule.as_str().into()),
            ),
            (None, Some(verdict)) => push(
                "EXISTS (SELECT 1 FROM results r WHERE r.call = c.id AND r.verdict = ?)",
                Value::Text(verdict.as_str().into()),
            ),
            (None, None) => {}
        }
        (conditions.join(" AND "), values)
    }
}

impl Store {
    /// The calls `filter` selects, worst first.
    pub fn select(&self, filter: &Filter) -> Result<Vec<CallRow>, StoreError> {
        let (condition, values) = filter.sql();
        let calls_sql = format!(
            "SELECT c.id, c.call_id, c.source, c.agent_id, c.queue, c.started_at, c.started_offset,
                c.week, c.duration, c.score, c.full_score, c.critical_failure, r.version, r.fingerprint
             FROM calls c JOIN rule_sets r ON r.id = c.rule_set
             WHERE {condition}
             ORDER BY c.critical_failure DESC, c.score ASC, c.call_id ASC"
        );
        let mut rows: Vec<CallRow> = self
            .conn()
            .prepare(&calls_sql)
            .and_then(|mut stmt| {
                stmt.query_map(rusqlite::params_from_iter(values.iter()), |r| {
                    let started: Option<i64> = r.get(5)?;
                    let offset: Option<i32> = r.get(6)?;
                    let version: String = r.get(12)?;
                    let fingerprint: String = r.get(13)?;
                    Ok(CallRow {
                        row: r.get(0)?,
                        call_id: r.get(1)?,
                        source: r.get(2)?,
                        agent_id: r.get(3)?,
                        queue: r.get(4)?,
                        started_at: started.map(|unix| Timestamp {
                            unix,
                            offset_minutes: offset.unwrap_or(0),
                        }),
                        week: r.get(7)?,
                        duration: r.get(8)?,
                        score: r.get(9)?,
                        full_score: r.get(10)?,
                        critical_failure: r.get(11)?,
                        rule_set: format!(
                            "{version} ({})",
                            &fingerprint[..fingerprint.len().min(12)]
                        ),
                        verdicts: Vec::new(),
                    })
                })
                .and_then(|rows| rows.collect())
            })
            .map_err(|e| self.sql(e))?;

        let at: HashMap<i64, usize> = rows.iter().enumerate().map(|(i, r)| (r.row, i)).collect();
        let results_sql = format!(
            "SELECT call, rule, verdict, deduction FROM results
             WHERE call IN (SELECT c.id FROM calls c WHERE {condition}) ORDER BY call, seq"
        );
        let results: Vec<(i64, String, String, u32)> = self
            .conn()
            .prepare(&results_sql)
            .and_then(|mut stmt| {
                stmt.query_map(rusqlite::params_from_iter(values.iter()), |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
                })
                .and_then(|rows| rows.collect())
            })
            .map_err(|e| self.sql(e))?;
        for (call, rule, verdict, deduction) in results {
            let Some(&i) = at.get(&call) else { continue };
            let call_id = rows[i].call_id.clone();
            let rule: RuleId = rule
                .parse()
                .map_err(|e| self.corrupt(&call_id, "rule", e))?;
            let verdict: Verdict = verdict
                .parse()
                .map_err(|e| self.corrupt(&call_id, "verdict", e))?;
            rows[i].verdicts.push((rule, verdict, deduction));
        }
        Ok(rows)
    }
}
