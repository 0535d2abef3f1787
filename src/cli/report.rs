//! `zhijian report`: the stored calls a filter selects, as CSV, JSON Lines or an HTML index
//! with each call's scorecard page.

use std::fs;
use std::io::{self, Write};
use std::path::Path;

use anyhow::{bail, Context, Result};

use crate::report::{page_name, Report};
use crate::store::query::Filter;
use crate::store::Store;

use super::{Outcome, ReportArgs, ReportFormat};

/// Where the scorecard pages go, inside --out.
const CALLS_DIR: &str = "calls";

pub(crate) fn run(args: &ReportArgs) -> Result<Outcome> {
    if args.format == ReportFormat::Html && args.out.is_none() {
        bail!("--format html writes an index and one page per call: give --out DIR");
    }
    if let (Some(from), Some(to)) = (args.from, args.to) {
        if from > to {
            bail!("--from {from} is after --to {to}");
        }
    }
    let filter = Filter {
        from: args.from,
        to: args.to,
        agent: args.agent.clone(),
        rule: args.rule,
        verdict: args
            .verdict
            .as_deref()
            .map(str::parse)
            .transpose()
            .map_err(anyhow::Error::msg)?,
        min_score: args.min_score,
        max_score: args.max_score,
    };
    let path = args.db.clone().unwrap_or_else(crate::store::default_path);
    let store = Store::open_existing(&path)?;
    let report = Report::build(filter.clone(), store.select(&filter)?);

    let Some(dir) = &args.out else {
        let stdout = io::stdout();
        let mut out = io::BufWriter::new(stdout.lock());
        match args.format {
            ReportFormat::Csv => report.write_calls_csv(&mut out),
            ReportFormat::Json => report.write_json_lines(&mut out),
            ReportFormat::Html => unreachable!("checked above"),
        }
        .and_then(|()| out.flush())
        .context("writing to standard output")?;
        return Ok(Outcome::Done);
    };
    fs::create_dir_all(dir)
        .with_context(|| format!("{}: cannot create the output directory", dir.display()))?;
    let written = match args.format {
        ReportFormat::Csv => {
            write_file(&dir.join("calls.csv"), |o| report.write_calls_csv(o))?;
            write_file(&dir.join("agents.csv"), |o| report.write_agents_csv(o))?;
            dir.join("calls.csv")
        }
        ReportFormat::Json => {
            write_file(&dir.join("report.jsonl"), |o| report.write_json_lines(o))?;
            dir.join("report.jsonl")
        }
        ReportFormat::Html => {
            let pages = dir.join(CALLS_DIR);
            fs::create_dir_all(&pages)
                .with_context(|| format!("{}: cannot create it", pages.display()))?;
            for call in &report.calls {
                let card = store.scorecard_at(call.row)?;
                write_file(&pages.join(page_name(call)), |o| card.write_html(o))?;
            }
            write_file(&dir.join("index.html"), |o| {
                report.write_html_index(o, CALLS_DIR)
            })?;
            dir.join("index.html")
        }
    };
    eprintln!(
        "{} call(s) reported: {}",
        report.calls.len(),
        written.display()
    );
    Ok(Outcome::Done)
}

fn write_file(path: &Path, render: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> Result<()> {
    let mut file = io::BufWriter::new(
        fs::File::create(path).with_context(|| format!("{}: cannot write", path.display()))?,
    );
    render(&mut file)
        .and_then(|()| file.flush())
        .with_context(|| format!("{}: writing", path.display()))
}
