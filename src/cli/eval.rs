//! `zhijian eval`: precision and recall per rule on a labelled corpus.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};

use crate::batch::{Batch, Done, Outcome};
use crate::cache::model_fingerprint;
use crate::eval::{Evaluation, Floor, Settings};
use crate::party::Seconds;
use crate::pipeline::{CallOptions, Pipeline};
use crate::reference::{reference_path, Reference};
use crate::rules::{judge_call, Overrides, RuleSet};
use crate::text::TextAnalyzer;
use crate::transcribe::Strategy;

use super::{load_queue_log, progress_bar, short_name, BySound, EvalArgs, Format, Outcome as Exit};

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

pub(crate) fn run(args: &EvalArgs) -> Result<Exit> {
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
    let queue_log = load_queue_log(args.queue_log.as_deref())?;
    let transcriber = args.decoding.load()?;
    let cache = args.cache.open()?;
    let model = args.decoding.model_path();
    let model_sha256 = match &cache {
        Some(cache) => model_fingerprint(&model, Some(cache))?,
        None => String::new(),
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

    // The calls go through the batch (decoders shared by the calls in flight, transcripts
    // cached), scored with the first variant; every variant then judges the same transcript and
    // events.
    let batch = Batch {
        pipeline: Pipeline {
            transcriber: &transcriber,
            text: &analyzer,
        },
        rules: &variants[0],
        call_options: CallOptions::default(),
        cache: cache.as_ref(),
        model_sha256: &model_sha256,
        jobs: transcriber.workers(),
        scored: Default::default(),
        force: true,
        queue_log: queue_log.as_ref(),
    };
    let paths: Vec<PathBuf> = calls.iter().map(|(path, _)| path.clone()).collect();
    let started = Instant::now();
    let bar = progress_bar(calls.len());
    batch.run(&paths, &mut |done: Done| -> Result<()> {
        let (path, reference) = &calls[done.index];
        match done.outcome {
            Outcome::Scored(call) => {
                for (rules, evaluation) in variants.iter().zip(&mut evaluations) {
                    let results = judge_call(rules, &analyzer, &call.transcript, &call.card.events);
                    evaluation.add(&call.transcript.call_id, path, &reference.expect, &results);
                    evaluation.audio = Seconds(evaluation.audio.0 + call.transcript.duration.0);
                }
            }
            Outcome::Skipped { .. } => unreachable!("an evaluation scores every call (force)"),
            Outcome::Failed { error } => {
                bar.suspend(|| eprintln!("error: {error}"));
                for evaluation in &mut evaluations {
                    evaluation.failed.push((path.clone(), error.clone()));
                }
            }
        }
        bar.set_message(short_name(path));
        bar.inc(1);
        Ok(())
    })?;
    bar.finish_and_clear();
    for evaluation in &mut evaluations {
        evaluation.failed.sort();
    }
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
        Exit::SomeFailed
    } else {
        Exit::Done
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
            outcome = Exit::SomeFailed;
        }
    }
    Ok(outcome)
}
