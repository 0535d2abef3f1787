//! `zhijian live`: live monitoring of a call, from two capture devices or a replayed recording.
//!
//! Wires the session's outside: the loopback web server and Unix socket on a small tokio
//! runtime, call events from standard input on a reader thread, Ctrl-C / SIGTERM, and the
//! scorecards written as `zhijian score` writes them. The session itself ([`crate::live::run`])
//! runs on this thread and its own; nothing of it runs on the runtime.

use std::io::{self, BufRead};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context, Result};

use crate::audio::ChannelMap;
use crate::live::serve::{start_http, start_socket, Shutdown, BROADCAST_CAPACITY};
use crate::live::{self, Inbox, LiveOptions, LiveSource, Reporter, Session, Status};
use crate::nudge::Hub;
use crate::pipeline::CallOptions;
use crate::text::TextAnalyzer;
use crate::voice::VoiceConfig;

use super::score::write_card;
use super::{CardFormat, LiveArgs, Outcome};

/// Where the JSON Lines stream goes.
enum Jsonl {
    Stdout,
    File(PathBuf),
    Socket(PathBuf),
}

fn jsonl_target(arg: &str) -> Jsonl {
    match arg {
        "-" => Jsonl::Stdout,
        _ => match arg.strip_prefix("unix:") {
            Some(path) => Jsonl::Socket(PathBuf::from(path)),
            None => Jsonl::File(PathBuf::from(arg)),
        },
    }
}

pub(crate) fn run(args: &LiveArgs) -> Result<Outcome> {
    let jsonl = args.jsonl.as_deref().map(jsonl_target);
    if matches!(jsonl, Some(Jsonl::Stdout)) && args.out.is_none() {
        bail!(
            "--jsonl - puts the nudge stream on standard output: give --out DIR for the scorecards"
        );
    }
    if args.format == CardFormat::Html && args.out.is_none() {
        bail!("--format html writes one page per call: give --out DIR");
    }
    if !(args.speed >= 0.0 && args.speed.is_finite()) {
        bail!("--speed must be 0 (as fast as decoding goes) or more");
    }
    let source = match (&args.agent_device, &args.customer_device) {
        (Some(agent), Some(customer)) => LiveSource::Capture {
            agent: agent.clone(),
            customer: customer.clone(),
        },
        _ => LiveSource::Replay {
            calls: args.replay.clone(),
            speed: args.speed,
            options: CallOptions {
                channels: args
                    .agent_channel
                    .map(|c| ChannelMap::agent_on(usize::from(c))),
                ..CallOptions::default()
            },
        },
    };
    for call in &args.replay {
        if call.is_dir() {
            bail!(
                "{}: is a directory; give the WAV files (e.g. {}/*.wav)",
                call.display(),
                call.display()
            );
        }
    }
    let analyzer = TextAnalyzer::new();
    let rules = args.rules.load(&analyzer)?;
    if let Some(dir) = &args.out {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("{}: cannot create the output directory", dir.display()))?;
    }
    let transcriber = args.decoding.load()?;

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("zhijian-io")
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let (lines, _) = tokio::sync::broadcast::channel(BROADCAST_CAPACITY);
    let inbox = Inbox::new();
    let status = Arc::new(Mutex::new(Status::default()));
    let shutdown = Shutdown::new();
    let stop = Arc::new(AtomicBool::new(false));

    let mut hub = Hub::new().with_broadcast(lines.clone());
    if !args.quiet {
        hub = hub.with_terminal(Box::new(io::stderr()));
    }
    let mut tasks = Vec::new();
    match &jsonl {
        Some(Jsonl::Stdout) => hub = hub.with_lines(Box::new(io::stdout())),
        Some(Jsonl::File(path)) => {
            let file = std::fs::File::create(path)
                .with_context(|| format!("{}: cannot write the nudge stream", path.display()))?;
            hub = hub.with_lines(Box::new(io::LineWriter::new(file)));
        }
        Some(Jsonl::Socket(path)) => {
            let task = runtime
                .block_on(start_socket(path.clone(), lines.clone(), shutdown.clone()))
                .with_context(|| format!("{}: cannot listen on the socket", path.display()))?;
            tasks.push(task);
        }
        None => {}
    }
    let page = if args.no_http {
        None
    } else {
        let (addr, task) = runtime
            .block_on(start_http(
                args.port,
                lines.clone(),
                inbox.reporter(),
                Arc::clone(&status),
                shutdown.clone(),
            ))
            .with_context(|| format!("cannot serve the web page on 127.0.0.1:{}", args.port))?;
        tasks.push(task);
        Some(format!("http://{addr}/"))
    };
    drop(lines);
    {
        let stop = Arc::clone(&stop);
        runtime.spawn(async move {
            wait_for_signal().await;
            tracing::info!("stopping: the call under way is scored first");
            stop.store(true, Ordering::Relaxed);
        });
    }
    if !args.no_stdin {
        read_events(inbox.reporter());
    }

    let session_name = format!(
        "live-{}",
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    );
    let options = LiveOptions {
        source,
        voice: VoiceConfig::default(),
        hangup_grace: args.hangup_grace,
        max_duration: args.duration,
    };
    let failed_inputs = AtomicUsize::new(0);
    let mut on_error = |message: String| {
        failed_inputs.fetch_add(1, Ordering::Relaxed);
        eprintln!("error: {message}");
    };
    let (format, out) = (args.format, args.out.clone());
    let mut write = |card: &crate::scorecard::Scorecard| {
        write_card(card, format, out.as_deref()).map_err(|e| format!("{e:#}"))
    };
    let result = live::run(
        &options,
        Session {
            rules: &rules,
            analyzer: &analyzer,
            transcriber: &transcriber,
            hub,
            inbox,
            stop: &stop,
            status,
            name: session_name,
        },
        page,
        &mut write,
        &mut on_error,
    );
    shutdown.now();
    runtime.block_on(async {
        for task in tasks {
            if tokio::time::timeout(Duration::from_secs(2), task)
                .await
                .is_err()
            {
                tracing::warn!("a server did not finish in time");
            }
        }
    });
    runtime.shutdown_timeout(Duration::from_secs(1));
    let summary = result?;
    if summary.failed > 0 || failed_inputs.load(Ordering::Relaxed) > 0 {
        return Ok(Outcome::SomeFailed);
    }
    Ok(Outcome::Done)
}

/// Call events from standard input, one JSON object per line, until it closes. A bad line is
/// reported and skipped.
fn read_events(reporter: Reporter) {
    let spawned = std::thread::Builder::new()
        .name("stdin-events".into())
        .spawn(move || {
            for (n, line) in io::stdin().lock().lines().enumerate() {
                let Ok(line) = line else { break };
                match reporter.report(&line) {
                    Ok(_) => {}
                    Err(live::EventError::Closed) => break,
                    Err(e) => eprintln!("warning: standard input {}: {e}", n + 1),
                }
            }
        });
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "cannot read events from standard input");
    }
}

async fn wait_for_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate());
        match term {
            Ok(mut term) => {
                tokio::select! {
                    _ = ctrl_c => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = ctrl_c.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
