//! `zhijian score`: scorecards for recorded calls (CONTRACT §2).

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use crate::audio::ChannelMap;
use crate::pipeline::{recorded_events, CallOptions, Pipeline};
use crate::rules::{judge_call, RuleSet};
use crate::scorecard::Scorecard;
use crate::text::TextAnalyzer;

use super::{progress_bar, short_name, CardFormat, Outcome, ScoreArgs};

pub(crate) fn run(args: &ScoreArgs) -> Result<Outcome> {
    for call in &args.calls {
        if call.is_dir() {
            bail!(
                "{}: is a directory; give the WAV files (e.g. {}/*.wav)",
                call.display(),
                call.display()
            );
        }
    }
    if args.format == CardFormat::Html && args.out.is_none() && args.calls.len() > 1 {
        bail!(
            "--format html writes one page per call: give --out DIR for {} calls",
            args.calls.len()
        );
    }
    let analyzer = TextAnalyzer::new();
    let rules = args.rules.load(&analyzer)?;
    if let Some(dir) = &args.out {
        fs::create_dir_all(dir)
            .with_context(|| format!("{}: cannot create the output directory", dir.display()))?;
    }
    let transcriber = args.decoding.load()?;
    let pipeline = Pipeline {
        transcriber: &transcriber,
        text: &analyzer,
    };
    let options = CallOptions {
        channels: args
            .agent_channel
            .map(|c| ChannelMap::agent_on(usize::from(c))),
        ..CallOptions::default()
    };

    let bar = progress_bar(args.calls.len());
    let mut failed = 0;
    for path in &args.calls {
        bar.set_message(short_name(path));
        let on_clip = |done: usize, total: usize| {
            bar.set_message(format!("{} · clip {done}/{total}", short_name(path)))
        };
        match score_one(&pipeline, &rules, path, &options, &on_clip) {
            Ok(card) => {
                write_card(&card, args.format, args.out.as_deref())?;
                for warning in &card.warnings {
                    bar.suspend(|| eprintln!("warning: {}: {warning}", path.display()));
                }
            }
            Err(e) => {
                failed += 1;
                bar.suspend(|| eprintln!("error: {e:#}"));
            }
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    if failed > 0 {
        eprintln!(
            "{failed} of {} call(s) could not be scored",
            args.calls.len()
        );
        return Ok(Outcome::SomeFailed);
    }
    Ok(Outcome::Done)
}

fn score_one(
    pipeline: &Pipeline<'_>,
    rules: &RuleSet,
    path: &Path,
    options: &CallOptions,
    on_clip: &(dyn Fn(usize, usize) + Sync),
) -> Result<Scorecard> {
    let transcript = pipeline.transcribe_call(path, options, on_clip)?;
    let events = recorded_events(path)?;
    let results = judge_call(rules, pipeline.text, &transcript, &events);
    Ok(Scorecard::new(rules, &transcript, events, results))
}

/// Writes one scorecard as `zhijian score` does: to `CALL_ID.EXT` in `out`, or to standard
/// output. Returns the file written, if any. (`zhijian live` writes its cards with this too.)
pub(crate) fn write_card(
    card: &Scorecard,
    format: CardFormat,
    out: Option<&Path>,
) -> Result<Option<PathBuf>> {
    let render = |out: &mut dyn Write| match format {
        CardFormat::Json => card.write_json_line(out),
        CardFormat::Text => card.write_text(out),
        CardFormat::Html => card.write_html(out),
    };
    match out {
        Some(dir) => {
            let path = dir.join(format!("{}.{}", card.call_id, format.extension()));
            let mut file = io::BufWriter::new(
                fs::File::create(&path)
                    .with_context(|| format!("{}: cannot write the scorecard", path.display()))?,
            );
            render(&mut file)
                .and_then(|()| file.flush())
                .with_context(|| format!("{}: writing", path.display()))?;
            Ok(Some(path))
        }
        None => {
            let stdout = io::stdout();
            let mut out = stdout.lock();
            render(&mut out)
                .and_then(|()| out.flush())
                .context("writing to standard output")?;
            Ok(None)
        }
    }
}
