//! `zhijian eval`: precision and recall per rule on a labelled corpus.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};

use crate::call::asterisk::QueueLog;
use crate::call::{events_for_recording, CallEvent};
use crate::eval::{Evaluation, Floor, Settings};
use crate::party::Seconds;
use crate::pipeline::{CallOptions, Pipeline};
use crate::reference::{reference_path, Reference};
use crate::rules::{judge_call, Overrides, RuleSet};
use crate::text::TextAnalyzer;
use crate::transcribe::Strategy;

use super::{progress_bar, short_name, BySound, EvalArgs, Format, Outcome};

/// The labelled calls under `dir`: WAVs with a reference that says what each rule should give.
fn labelled_calls(dir: &Path) -> Result<Vec<(PathBuf, Reference)>> {
    let mut wavs = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries = std::fs::read_dir(&d)
            .with_context(|| format!("{}: cannot list the directory", d.display()))?;
        for entry in entries {
            let path = entry
                .with_context(|| format!("{}: cannot list the directory", d.display()))?
                .path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "wav") && reference_path(&path).exists()
            {
                wavs.push(path);
            }
        }
    }
    wavs.sort();
    let mut calls = Vec::new();
    for wav in wavs {
        let reference = Reference::load_for(&wav)?;
        if !reference.expect.is_empty() {
            calls.push((wav, reference));
        }
    }
    Ok(calls)
}

pub(crate) fn run(args: &EvalArgs) -> Result<Outcome> {
    let calls = labelled_calls(&args.dir)?;
    if calls.is_empty() {
        bail!(
            "{}: no labelled calls (WAV files with a NAME.truth.json holding an \"expect\" table)",
            args.dir.display()
        );
    }
    let floor = args.floor.as_deref().map(Floor::load).transpose()?;
    let analyzer = TextAnalyzer::new();
    let standard = args.rules.load(&analyzer)?;
    let variants: Vec<RuleSet> = match args.by_sound {
        BySound::Standard => vec![standard],
        BySound::On => vec![standard.with_overrides(
            &analyzer,
            Overrides {
                by_sound: Some(true),
            },
        )?],
        BySound::Off => vec![standard.with_overrides(
            &analyzer,
            Overrides {
                by_sound: Some(false),
            },
        )?],
        BySound::Both => vec![
            standard.with_overrides(
                &analyzer,
                Overrides {
                    by_sound: Some(true),
                },
            )?,
            standard.with_overrides(
                &analyzer,
                Overrides {
                    by_sound: Some(false),
                },
            )?,
        ],
    };
    let queue_log = args.queue_log.as_deref().map(QueueLog::load).transpose()?;
    let transcriber = args.decoding.load()?;
    let pipeline = Pipeline {
        transcriber: &transcriber,
        text: &analyzer,
    };
    let decoding = {
        let o = transcriber.options();
        let strategy = match o.strategy {
            Strategy::Greedy => "greedy".to_string(),
            Strategy::Beam { size } => format!("beam {size}"),
        };
        if o.shorten_audio_ctx {
            format!("{strategy}, shortened audio context")
        } else {
            strategy
        }
    };
    let model = crate::model::resolve_model_path(args.decoding.model.as_deref());
    let mut evaluations: Vec<Evaluation> = variants
        .iter()
        .map(|rules| {
            Evaluation::new(Settings {
                model: model.file_name().map_or_else(
                    || model.display().to_string(),
                    |n| n.to_string_lossy().into_owned(),
                ),
                decoding: decoding.clone(),
                by_sound: rules.standard.by_sound,
                rules: format!("{} ({})", rules.standard.version, rules.dir.display()),
            })
        })
        .collect();

    let started = Instant::now();
    let bar = progress_bar(calls.len());
    for (path, reference) in &calls {
        bar.set_message(short_name(path));
        let on_clip = |done: usize, total: usize| {
            bar.set_message(format!("{} · clip {done}/{total}", short_name(path)))
        };
        let scored = pipeline
            .transcribe_call(path, &CallOptions::default(), &on_clip)
            .map_err(anyhow::Error::from)
            .and_then(|transcript| {
                let events: Vec<CallEvent> =
                    events_for_recording(path, &transcript.tones, queue_log.as_ref())?
                        .events()
                        .cloned()
                        .collect();
                Ok((transcript, events))
            });
        match scored {
            Ok((transcript, events)) => {
                for (rules, evaluation) in variants.iter().zip(&mut evaluations) {
                    let results = judge_call(rules, &analyzer, &transcript, &events);
                    evaluation.add(&transcript.call_id, path, &reference.expect, &results);
                    evaluation.audio = Seconds(evaluation.audio.0 + transcript.duration.0);
                }
            }
            Err(e) => {
                bar.suspend(|| eprintln!("error: {e:#}"));
                for evaluation in &mut evaluations {
                    evaluation.failed.push((path.clone(), format!("{e:#}")));
                }
            }
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    let wall = Seconds(started.elapsed().as_secs_f64());
    for evaluation in &mut evaluations {
        evaluation.wall = wall;
    }

    let stdout = io::stdout();
    let mut out = stdout.lock();
    for (i, evaluation) in evaluations.iter().enumerate() {
        match args.format {
            Format::Json => {
                serde_json::to_writer(&mut out, evaluation)?;
                writeln!(out)?;
            }
            Format::Text => {
                if i > 0 {
                    writeln!(out, "\n")?;
                }
                evaluation.write_text(&mut out)?;
            }
        }
    }
    out.flush()?;
    let mut outcome = if evaluations.iter().any(|e| !e.failed.is_empty()) {
        Outcome::SomeFailed
    } else {
        Outcome::Done
    };
    if let (Some(floor), Some(primary)) = (&floor, evaluations.first()) {
        let below = floor.check(primary);
        if below.is_empty() {
            eprintln!(
                "every rule is at or above its floor ({})",
                floor.path.display()
            );
        } else {
            for line in &below {
                eprintln!("below the floor: {line}");
            }
            eprintln!(
                "{} rule measure(s) below the floor in {}",
                below.len(),
                floor.path.display()
            );
            outcome = Outcome::SomeFailed;
        }
    }
    Ok(outcome)
}
