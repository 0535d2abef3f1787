//! `zhijian rescore`: the stored calls judged again under the current rules, from their stored
//! transcripts (nothing is transcribed).

use std::io::{self, Write};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};

use crate::batch::{self, Rescored};
use crate::store::Store;
use crate::text::TextAnalyzer;

use super::{progress_bar, Outcome, RescoreArgs};

pub(crate) fn run(args: &RescoreArgs) -> Result<Outcome> {
    let analyzer = TextAnalyzer::new();
    let rules = args.rules.load(&analyzer)?;
    let path = args.db.clone().unwrap_or_else(crate::store::default_path);
    let mut store = Store::open_existing(&path)?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let command = std::env::args().collect::<Vec<_>>().join(" ");
    let run = store.begin_run(&command, now)?;
    let calls = store.calls()?;

    let started = Instant::now();
    let bar = progress_bar(calls.len());
    let (mut rescored, mut changed, mut skipped) = (0usize, 0usize, 0usize);
    let mut failed = Vec::new();
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    let mut write_error = None;
    batch::rescore(
        &mut store,
        run,
        &rules,
        &analyzer,
        &calls,
        args.force,
        &mut |call, outcome| {
            match outcome {
                Rescored::Scored { before, card } => {
                    rescored += 1;
                    if card.score != before {
                        changed += 1;
                        if let Err(e) = writeln!(out, "{} {before} -> {}", call.call_id, card.score)
                        {
                            write_error.get_or_insert(e);
                        }
                    }
                }
                Rescored::Skipped => skipped += 1,
                Rescored::Failed { error } => {
                    bar.suspend(|| eprintln!("error: {error}"));
                    failed.push(error);
                }
            }
            bar.inc(1);
        },
    )?;
    out.flush().context("writing to standard output")?;
    if let Some(e) = write_error {
        return Err(e).context("writing to standard output");
    }
    bar.finish_and_clear();
    let wall = started.elapsed().as_secs_f64();
    eprintln!(
        "rescored {rescored} call(s) in {wall:.2} s ({:.0} calls/s) under {} {} ({}): {changed} score(s) changed",
        rescored as f64 / wall.max(1e-9),
        rules.standard.name,
        rules.standard.version,
        &rules.fingerprint()[..12],
    );
    if skipped > 0 {
        eprintln!(
            "skipped {skipped} call(s) already scored with these rules (--force scores them again)"
        );
    }
    if !failed.is_empty() {
        eprintln!(
            "{} of {} call(s) could not be re-scored",
            failed.len(),
            calls.len()
        );
        return Ok(Outcome::SomeFailed);
    }
    Ok(Outcome::Done)
}
