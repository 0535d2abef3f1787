//! `zhijian score`: scorecards for recorded calls (CONTRACT §2), in batches of any size, into
//! the store.
//!
//! The batch ([`crate::batch`]) hands each call's outcome to this thread, which commits it to
//! the store (one transaction per call), prints or writes its scorecard (on standard output in
//! the order the calls were given), keeps the progress bar and, at the end, prints the summary.

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context, Result};

use crate::audio::ChannelMap;
use crate::batch::{self, Batch, DecoderTime, Done, Outcome};
use crate::cache::model_fingerprint;
use crate::pipeline::{CallOptions, Pipeline};
use crate::scorecard::Scorecard;
use crate::store::{NewCall, Store};
use crate::text::TextAnalyzer;

use super::{load_queue_log, progress_bar, CardFormat, Outcome as Exit, ScoreArgs};

pub(crate) fn run(args: &ScoreArgs) -> Result<Exit> {
    let paths = batch::collect(&args.calls, args.recursive)?;
    if paths.is_empty() {
        bail!("no WAV files in {}", display_list(&args.calls));
    }
    if args.format == CardFormat::Html && args.out.is_none() && !args.quiet && paths.len() > 1 {
        bail!(
            "--format html writes one page per call: give --out DIR for {} calls",
            paths.len()
        );
    }
    let analyzer = TextAnalyzer::new();
    let rules = args.rules.load(&analyzer)?;
    if let Some(dir) = &args.out {
        fs::create_dir_all(dir)
            .with_context(|| format!("{}: cannot create the output directory", dir.display()))?;
    }
    let queue_log = load_queue_log(args.queue_log.as_deref())?;
    let transcriber = args.decoding.load()?;
    // A store or cache named on the command line (or in the environment) must work; the
    // default ones are a convenience, and a machine where they cannot be made (a read-only
    // home) still scores calls, as CONTRACT §2 promises (see also `CacheArgs::open`).
    let cache = args.cache.open()?;
    let mut store = if args.store.no_store {
        None
    } else {
        match Store::open(&args.store.path()) {
            Ok(store) => Some(store),
            Err(e) if args.store.db.is_none() => {
                eprintln!("warning: {e}; calls are not stored (--no-store silences this)");
                None
            }
            Err(e) => return Err(e.into()),
        }
    };
    // The model's content is part of every transcript's key; only needed when keys are kept.
    let model_sha256 = if cache.is_some() || store.is_some() {
        model_fingerprint(&args.decoding.model_path(), cache.as_ref())?
    } else {
        String::new()
    };
    let run = match store.as_mut() {
        Some(s) => Some(s.begin_run(&command_line(), unix_now())?),
        None => None,
    };
    let scored = match &store {
        Some(s) => s.scored_index()?,
        None => Default::default(),
    };

    let batch = Batch {
        pipeline: Pipeline {
            transcriber: &transcriber,
            text: &analyzer,
        },
        rules: &rules,
        call_options: CallOptions {
            channels: args
                .agent_channel
                .map(|c| ChannelMap::agent_on(usize::from(c))),
            ..CallOptions::default()
        },
        cache: cache.as_ref(),
        model_sha256: &model_sha256,
        jobs: args.jobs.unwrap_or(transcriber.workers()).max(1),
        scored,
        force: args.force,
        queue_log: queue_log.as_ref(),
    };

    let total_bytes: u64 = paths
        .iter()
        .map(|p| fs::metadata(p).map_or(0, |m| m.len()))
        .sum();
    let mut tally = Tally::new(paths.len(), total_bytes);
    let bar = progress_bar(paths.len());
    let mut printer = Printer::default();
    let result = batch.run(&paths, &mut |done: Done| -> Result<()> {
        let card = match &done.outcome {
            Outcome::Scored(call) => {
                if let (Some(store), Some(run)) = (store.as_mut(), run) {
                    store.commit_call(
                        run,
                        &NewCall {
                            transcript: &call.transcript,
                            card: &call.card,
                            meta: &call.meta,
                            audio_sha256: &call.audio_sha256,
                            transcript_key: call.transcript_key.as_str(),
                            inputs_key: &call.inputs_key,
                            rules: &rules,
                        },
                    )?;
                }
                for warning in call.warnings.iter().chain(&call.card.warnings) {
                    bar.suspend(|| eprintln!("warning: {}: {warning}", done.path.display()));
                }
                Some(call.card.clone())
            }
            Outcome::Skipped { call_id } => match &store {
                Some(store) if wants_cards(args) => store.scorecard(call_id)?,
                _ => None,
            },
            Outcome::Failed { error } => {
                bar.suspend(|| eprintln!("error: {error}"));
                None
            }
        };
        if let (Some(card), Some(dir)) = (&card, &args.out) {
            write_card(card, args.format, Some(dir))?;
        }
        if args.out.is_none() && !args.quiet {
            printer.ready(done.index, card, args)?;
        }
        tally.add(&done);
        bar.set_message(tally.progress_message());
        bar.inc(1);
        Ok(())
    });
    bar.finish_and_clear();
    // A store that cannot be written stops the batch; what was committed stays.
    let decoders = match result {
        Ok(decoders) => decoders,
        Err(e) => {
            tally.print_summary(None);
            return Err(e.context(format!(
                "the batch stopped after {} of {} call(s)",
                tally.done,
                paths.len()
            )));
        }
    };
    tracing::info!(
        busy_s = decoders.busy.as_secs_f64(),
        idle_s = decoders.idle.as_secs_f64(),
        "whisper workers"
    );
    tally.print_summary(Some(decoders));
    Ok(if tally.failed.is_empty() {
        Exit::Done
    } else {
        Exit::SomeFailed
    })
}

fn wants_cards(args: &ScoreArgs) -> bool {
    args.out.is_some() || !args.quiet
}

fn display_list(paths: &[std::path::PathBuf]) -> String {
    paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

fn command_line() -> String {
    std::env::args().collect::<Vec<_>>().join(" ")
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// Prints scorecards on standard output in the order the calls were given, whatever order
/// they finish in.
#[derive(Default)]
struct Printer {
    next: usize,
    waiting: BTreeMap<usize, Option<Scorecard>>,
}

impl Printer {
    fn ready(&mut self, index: usize, card: Option<Scorecard>, args: &ScoreArgs) -> Result<()> {
        self.waiting.insert(index, card);
        while let Some(card) = self.waiting.remove(&self.next) {
            if let Some(card) = card {
                write_card(&card, args.format, None)?;
            }
            self.next += 1;
        }
        Ok(())
    }
}

fn render(card: &Scorecard, format: CardFormat, out: &mut dyn Write) -> io::Result<()> {
    match format {
        CardFormat::Json => card.write_json_line(out),
        CardFormat::Text => card.write_text(out),
        CardFormat::Html => card.write_html(out),
    }
}

/// Writes one scorecard as `zhijian score` does: to `CALL_ID.EXT` in `out`, or to standard
/// output. Returns the file written, if any. (`zhijian live` writes its cards with this too.)
pub(crate) fn write_card(
    card: &Scorecard,
    format: CardFormat,
    out: Option<&Path>,
) -> Result<Option<PathBuf>> {
    match out {
        Some(dir) => {
            let path = dir.join(format!("{}.{}", card.call_id, format.extension()));
            let mut file = io::BufWriter::new(
                fs::File::create(&path)
                    .with_context(|| format!("{}: cannot write the scorecard", path.display()))?,
            );
            render(card, format, &mut file)
                .and_then(|()| file.flush())
                .with_context(|| format!("{}: writing", path.display()))?;
            Ok(Some(path))
        }
        None => {
            let stdout = io::stdout();
            let mut out = stdout.lock();
            render(card, format, &mut out)
                .and_then(|()| out.flush())
                .context("writing to standard output")?;
            Ok(None)
        }
    }
}

/// What the batch has done so far: the progress line and the final summary.
struct Tally {
    started: Instant,
    calls: usize,
    total_bytes: u64,
    done: usize,
    done_bytes: u64,
    scored: usize,
    transcribed: usize,
    skipped: usize,
    /// Audio of the calls scored.
    audio: f64,
    failed: Vec<String>,
}

impl Tally {
    fn new(calls: usize, total_bytes: u64) -> Self {
        Tally {
            started: Instant::now(),
            calls,
            total_bytes,
            done: 0,
            done_bytes: 0,
            scored: 0,
            transcribed: 0,
            skipped: 0,
            audio: 0.0,
            failed: Vec::new(),
        }
    }

    fn add(&mut self, done: &Done) {
        self.done += 1;
        self.done_bytes += done.bytes;
        match &done.outcome {
            Outcome::Scored(call) => {
                self.scored += 1;
                self.audio += call.transcript.duration.0;
                if call.transcribed {
                    self.transcribed += 1;
                }
            }
            Outcome::Skipped { .. } => self.skipped += 1,
            Outcome::Failed { error } => self.failed.push(error.clone()),
        }
    }

    /// Audio hours, real-time factor (wall clock over audio scored so far) and the time left,
    /// estimated from the bytes of audio still to go.
    fn progress_message(&self) -> String {
        let elapsed = self.started.elapsed().as_secs_f64();
        let mut parts = vec![format!("{:.2} h audio", self.audio / 3600.0)];
        if self.audio > 0.0 {
            parts.push(format!("{:.2}× real time", elapsed / self.audio));
        }
        if self.done_bytes > 0 && self.done < self.calls {
            let left = elapsed * (self.total_bytes.saturating_sub(self.done_bytes)) as f64
                / self.done_bytes as f64;
            parts.push(format!("ETA {}", hms(left)));
        }
        parts.join(" · ")
    }

    fn print_summary(&self, decoders: Option<DecoderTime>) {
        let wall = self.started.elapsed().as_secs_f64();
        let mut line = format!(
            "scored {} call(s), {:.2} h of audio, in {}",
            self.scored,
            self.audio / 3600.0,
            hms(wall)
        );
        if self.scored > 0 {
            line.push_str(&format!(
                " ({} transcribed, {} from the transcript cache): {:.1} audio hours per wall-clock hour",
                self.transcribed,
                self.scored - self.transcribed,
                self.audio / wall.max(1e-9)
            ));
        }
        if let Some(decoders) = decoders.filter(|_| self.transcribed > 0) {
            line.push_str(&format!(
                "; whisper workers busy {:.0}% of the time",
                decoders.busy_share() * 100.0
            ));
        }
        eprintln!("{line}");
        if self.skipped > 0 {
            eprintln!(
                "skipped {} call(s) already in the store from the same audio, model, settings and rules (--force scores them again)",
                self.skipped
            );
        }
        if !self.failed.is_empty() {
            eprintln!("failed {} call(s):", self.failed.len());
            for error in &self.failed {
                eprintln!("  {error}");
            }
            eprintln!(
                "{} of {} call(s) could not be scored",
                self.failed.len(),
                self.calls
            );
        }
    }
}

fn hms(seconds: f64) -> String {
    let s = seconds.max(0.0).round() as u64;
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
    } else {
        format!("{}:{:02}", s / 60, s % 60)
    }
}
