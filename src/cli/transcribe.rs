//! `zhijian transcribe`: per-party transcripts of recorded calls.

use std::io::{self, Write};

use anyhow::{bail, Context, Result};

use crate::audio::ChannelMap;
use crate::pipeline::{CallOptions, Pipeline};
use crate::text::TextAnalyzer;

use super::{progress_bar, short_name, Format, Outcome, TranscribeArgs};

pub(crate) fn run(args: &TranscribeArgs) -> Result<Outcome> {
    for call in &args.calls {
        if call.is_dir() {
            bail!(
                "{}: is a directory; give the WAV files (e.g. {}/*.wav)",
                call.display(),
                call.display()
            );
        }
    }
    let transcriber = args.decoding.load()?;
    let analyzer = TextAnalyzer::new();
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
    let stdout = io::stdout();
    let mut failed = 0;
    for path in &args.calls {
        bar.set_message(short_name(path));
        let on_clip = |done: usize, total: usize| {
            bar.set_message(format!("{} · clip {done}/{total}", short_name(path)));
        };
        match pipeline.transcribe_call(path, &options, &on_clip) {
            Ok(transcript) => {
                let mut out = stdout.lock();
                let written = match args.format {
                    Format::Json => transcript.write_json_lines(&mut out),
                    Format::Text => transcript.write_text(&mut out),
                };
                written
                    .and_then(|()| out.flush())
                    .context("writing to standard output")?;
                for warning in &transcript.warnings {
                    bar.suspend(|| eprintln!("warning: {}: {warning}", path.display()));
                }
            }
            Err(e) => {
                failed += 1;
                bar.suspend(|| eprintln!("error: {e}"));
            }
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    if failed > 0 {
        eprintln!(
            "{failed} of {} call(s) could not be transcribed",
            args.calls.len()
        );
        return Ok(Outcome::SomeFailed);
    }
    Ok(Outcome::Done)
}
