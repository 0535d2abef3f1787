//! Real capture: a PulseAudio server started by the test (two null sinks, one per party),
//! a fixture call played into it, and `zhijian live` capturing the sinks' monitors through cpal
//! (ALSA's PulseAudio plugin), with call events on its standard input. Mid-call the customer's
//! sink is unloaded and loaded again: the call goes on, is scored, and is marked partial.
//!
//! Needs `pulseaudio`, `pactl`, `paplay` and the ALSA PulseAudio plugin (`.ci/setup` installs
//! them). If the audio server cannot start, the test fails and says why: it never passes
//! without having captured anything.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use zhijian::audio::read_wav;
use zhijian::nudge::{DeviceState, Envelope, Nudge};
use zhijian::party::Party;
use zhijian::rules::{RuleId, Verdict};
use zhijian::scorecard::Scorecard;

use crate::util::*;

/// A private PulseAudio daemon in a temporary directory, killed on drop.
struct Pulse {
    dir: tempfile::TempDir,
    daemon: Child,
}

impl Pulse {
    /// Starts the daemon with a null sink per party, and an ALSA configuration that names
    /// their monitors `zj_agent` and `zj_customer`.
    fn start() -> Pulse {
        for tool in ["pulseaudio", "pactl", "paplay"] {
            let found = Command::new("sh")
                .args(["-c", &format!("command -v {tool}")])
                .output()
                .is_ok_and(|o| o.status.success());
            assert!(
                found,
                "the real-capture test needs {tool} (PulseAudio); install it with `bash .ci/setup` \
                 (apt-get install pulseaudio pulseaudio-utils libasound2-plugins)"
            );
        }
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("native");
        let script = format!(
            "load-module module-native-protocol-unix socket={} auth-anonymous=1\n\
             load-module module-cli-protocol-unix socket={}\n\
             load-module module-null-sink sink_name=agent_line\n\
             load-module module-null-sink sink_name=customer_line\n",
            socket.display(),
            dir.path().join("cli").display()
        );
        std::fs::write(dir.path().join("default.pa"), script).unwrap();
        std::fs::create_dir_all(dir.path().join("xdg/alsa")).unwrap();
        std::fs::write(
            dir.path().join("xdg/alsa/asoundrc"),
            "pcm.zj_agent { type pulse device \"agent_line.monitor\" hint { show on description \"agent line\" } }\n\
             pcm.zj_customer { type pulse device \"customer_line.monitor\" hint { show on description \"customer line\" } }\n",
        )
        .unwrap();
        // As root (CI) PulseAudio runs as a per-user daemon only with its own home, runtime
        // and state directories, no idle exit, and no shared memory.
        let log = std::fs::File::create(dir.path().join("pulseaudio.log")).unwrap();
        let daemon = Command::new("pulseaudio")
            .args(["-n", "-F"])
            .arg(dir.path().join("default.pa"))
            .args([
                "--daemonize=no",
                "--exit-idle-time=-1",
                "--use-pid-file=no",
                "--disallow-exit=yes",
                "--disable-shm=yes",
                "--log-target=stderr",
            ])
            .env("HOME", dir.path())
            .env("PULSE_RUNTIME_PATH", dir.path().join("run"))
            .env("PULSE_STATE_PATH", dir.path().join("state"))
            .env("PULSE_CONFIG_PATH", dir.path().join("config"))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start pulseaudio");
        let pulse = Pulse { dir, daemon };
        // Readiness: the server answers. Polled, with a deadline that only bounds a failure.
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if pulse.pactl(&["info"]).status.success() {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "PulseAudio did not start; its log:\n{}",
                std::fs::read_to_string(pulse.dir.path().join("pulseaudio.log"))
                    .unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        pulse
    }

    fn env(&self, command: &mut Command) {
        command
            .env(
                "PULSE_SERVER",
                format!("unix:{}", self.dir.path().join("native").display()),
            )
            .env("XDG_CONFIG_HOME", self.dir.path().join("xdg"));
    }

    fn pactl(&self, args: &[&str]) -> std::process::Output {
        let mut c = Command::new("pactl");
        c.args(args);
        self.env(&mut c);
        c.output().expect("run pactl")
    }

    /// Plays a WAV into a sink (in the background).
    fn play(&self, sink: &str, wav: &Path) -> Child {
        let mut c = Command::new("paplay");
        c.arg(format!("--device={sink}")).arg(wav);
        self.env(&mut c);
        c.stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run paplay")
    }

    /// Kills every capture stream reading from `source`: to the application the device is
    /// gone (unloading the sink would not do: since PulseAudio 15 the server moves a stream whose
    /// source disappears to the default source, so the capture would go on, from another line).
    fn kill_captures_of(&self, source: &str) -> usize {
        let sources = self.pactl(&["list", "short", "sources"]);
        let index = String::from_utf8_lossy(&sources.stdout)
            .lines()
            .find(|l| l.split_whitespace().nth(1) == Some(source))
            .and_then(|l| l.split_whitespace().next().map(str::to_string))
            .unwrap_or_else(|| panic!("no source {source}"));
        let outputs = self.pactl(&["list", "short", "source-outputs"]);
        let streams: Vec<String> = String::from_utf8_lossy(&outputs.stdout)
            .lines()
            .filter(|l| l.split_whitespace().nth(1) == Some(index.as_str()))
            .filter_map(|l| l.split_whitespace().next().map(str::to_string))
            .collect();
        for stream in &streams {
            // pactl cannot kill a stream; the server's command-line protocol can.
            use std::os::unix::net::UnixStream;
            let mut cli = UnixStream::connect(self.dir.path().join("cli")).expect("cli socket");
            writeln!(cli, "kill-source-output {stream}").unwrap();
            cli.shutdown(std::net::Shutdown::Write).unwrap();
            let mut answer = String::new();
            let _ = std::io::Read::read_to_string(&mut cli, &mut answer);
            assert!(
                !answer.contains("No source output"),
                "kill-source-output {stream}: {answer}"
            );
        }
        streams.len()
    }
}

impl Drop for Pulse {
    fn drop(&mut self) {
        let _ = self.daemon.kill();
        let _ = self.daemon.wait();
    }
}

/// One channel of a recording, from `from` to `to` seconds, as a 16-bit mono WAV.
fn channel_wav(wav: &Path, channel: usize, from: f64, to: f64, out: PathBuf) -> PathBuf {
    let rec = read_wav(wav).unwrap();
    let rate = rec.sample_rate;
    let samples = &rec.channels[channel];
    let a = ((from * f64::from(rate)) as usize).min(samples.len());
    let b = ((to * f64::from(rate)) as usize).min(samples.len());
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(&out, spec).unwrap();
    for &s in &samples[a..b] {
        w.write_sample((s.clamp(-1.0, 1.0) * 32_767.0) as i16)
            .unwrap();
    }
    w.finalize().unwrap();
    out
}

/// Waits for the next envelope that `pick` accepts; panics with what came when it does not.
fn wait_for<T>(
    rx: &mpsc::Receiver<String>,
    seen: &mut Vec<Envelope>,
    log: &Path,
    what: &str,
    mut pick: impl FnMut(&Envelope) -> Option<T>,
) -> T {
    // Bounds a failure only: the call itself takes about a minute of real time.
    let deadline = Instant::now() + Duration::from_secs(240);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = rx.recv_timeout(left).unwrap_or_else(|_| {
            let log = std::fs::read_to_string(log).unwrap_or_default();
            panic!("no {what}; the stream so far: {seen:#?}\nzhijian live said:\n{log}")
        });
        let envelope: Envelope = serde_json::from_str(&line).unwrap();
        let picked = pick(&envelope);
        seen.push(envelope);
        if let Some(t) = picked {
            return t;
        }
    }
}

#[test]
fn a_call_played_into_pulseaudio_is_captured_nudged_and_scored_through_a_lost_device() {
    require_model();
    let pulse = Pulse::start();
    let call = fixture("call_8k_mulaw.wav");
    let dir = tempfile::tempdir().unwrap();
    // The customer's side in two parts: the sink goes away between them (during the hold, when
    // the customer is silent: 22.3–35.8 s).
    let agent = channel_wav(&call, 0, 0.0, 60.0, dir.path().join("agent.wav"));
    let customer_a = channel_wav(&call, 1, 0.0, 24.0, dir.path().join("customer_a.wav"));
    let customer_b = channel_wav(&call, 1, 24.0, 60.0, dir.path().join("customer_b.wav"));

    let mut devices = Command::new(env!("CARGO_BIN_EXE_zhijian"));
    devices.arg("devices");
    pulse.env(&mut devices);
    let listed = devices.output().unwrap();
    let listed = stdout(&listed);
    assert!(
        listed.contains("zj_agent") && listed.contains("zj_customer"),
        "zhijian devices does not list the test's PulseAudio sources:\n{listed}"
    );

    let cards = dir.path().join("cards");
    let err_log = dir.path().join("live.err");
    let mut live = Command::new(env!("CARGO_BIN_EXE_zhijian"));
    live.args([
        "live",
        "--agent-device",
        "zj_agent",
        "--customer-device",
        "zj_customer",
    ])
    .args([
        "--greedy", "--port", "0", "--quiet", "--format", "json", "--jsonl", "-", "--out",
    ])
    .arg(&cards)
    .stdin(Stdio::piped())
    .stdout(Stdio::piped())
    .stderr(std::fs::File::create(&err_log).unwrap());
    pulse.env(&mut live);
    let mut live = live.spawn().expect("run zhijian live");
    let mut events = live.stdin.take().unwrap();
    let (tx, rx) = mpsc::channel::<String>();
    let out = live.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut seen = Vec::new();
    wait_for(&rx, &mut seen, &err_log, "session start", |e| {
        matches!(e, Envelope::Session { .. }).then_some(())
    });

    writeln!(events, "{{\"type\":\"ring\",\"call_id\":\"captured\"}}").unwrap();
    writeln!(events, "{{\"type\":\"answer\"}}").unwrap();
    events.flush().unwrap();
    let mut agent_play = pulse.play("agent_line", &agent);
    let mut customer_play = pulse.play("customer_line", &customer_a);
    assert!(customer_play.wait().unwrap().success(), "paplay failed");

    // The customer's device goes away…
    assert_eq!(
        pulse.kill_captures_of("customer_line.monitor"),
        1,
        "zhijian should capture the customer line once"
    );
    let lost_at = wait_for(
        &rx,
        &mut seen,
        &err_log,
        "the customer device lost",
        |e| match e {
            Envelope::Device {
                party: Party::Customer,
                state: DeviceState::Lost,
                at,
                ..
            } => Some(*at),
            _ => None,
        },
    );
    // …and comes back (zhijian opens it again); the rest of the customer's side is played once
    // it is heard again.
    let back_at = wait_for(
        &rx,
        &mut seen,
        &err_log,
        "the customer device back",
        |e| match e {
            Envelope::Device {
                party: Party::Customer,
                state: DeviceState::Back,
                at,
                ..
            } => Some(*at),
            _ => None,
        },
    );
    let mut customer_play = pulse.play("customer_line", &customer_b);
    assert!(customer_play.wait().unwrap().success(), "paplay failed");
    assert!(agent_play.wait().unwrap().success(), "paplay failed");

    writeln!(events, "{{\"type\":\"hangup\",\"party\":\"customer\"}}").unwrap();
    writeln!(events, "{{\"type\":\"hangup\",\"party\":\"agent\"}}").unwrap();
    events.flush().unwrap();
    let card_path = wait_for(&rx, &mut seen, &err_log, "the call's end", |e| match e {
        Envelope::CallEnd { scorecard, .. } => scorecard.clone(),
        _ => None,
    });
    // Stop the session as an operator would (Ctrl-C).
    drop(events);
    let stopped = Command::new("kill")
        .args(["-INT", &live.id().to_string()])
        .status()
        .unwrap();
    assert!(stopped.success());
    let status = live.wait().unwrap();
    let err = std::fs::read_to_string(&err_log).unwrap_or_default();
    // What came after the call's end (the session's end), now that the stream is closed.
    for line in rx.iter() {
        seen.push(serde_json::from_str(&line).unwrap());
    }
    assert!(status.success(), "zhijian live failed:\n{err}");

    // The agent's banned phrase was nudged while the call went on, with what to say instead.
    let nudges: Vec<&Nudge> = seen
        .iter()
        .filter_map(|e| match e {
            Envelope::Nudge(n) => Some(n),
            _ => None,
        })
        .collect();
    let banned = nudges
        .iter()
        .find(|n| n.rule == RuleId::BannedPhrase && n.heard.contains("不知道"))
        .unwrap_or_else(|| panic!("no 我不知道 nudge: {nudges:#?}\n{err}"));
    assert_eq!(banned.call_id, "captured");
    assert_eq!(
        banned.suggestion.as_deref(),
        Some("请您稍等，我帮您核实一下")
    );

    // The call was scored as `zhijian score` writes a card, marked partial for the outage, and
    // the customer was heard again after the device came back.
    let card: Scorecard =
        serde_json::from_str(&std::fs::read_to_string(&card_path).unwrap()).unwrap();
    assert!(card.partial, "{card:#?}");
    assert!(
        card.warnings.iter().any(|w| w.contains("zj_customer")),
        "{:?}",
        card.warnings
    );
    let banned_rule = card
        .rules
        .iter()
        .find(|r| r.rule == RuleId::BannedPhrase)
        .unwrap();
    assert_eq!(banned_rule.verdict, Verdict::Fail);
    // What the customer said only after the outage (可是钱已经扣了，你们总得给我一个说法吧？
    // 那我的积分会不会受影响？好吧，那我再去问问。) was heard.
    let after: Vec<&str> = card
        .utterances
        .iter()
        .filter(|u| u.party == Party::Customer)
        .map(|u| u.text.as_str())
        .filter(|t| ["说法", "影响", "问问"].iter().any(|w| t.contains(w)))
        .collect();
    assert!(
        !after.is_empty(),
        "nothing the customer said after the device came back ({:.1} s, lost at {:.1} s) was heard: {:#?}",
        back_at.0,
        lost_at.0,
        card.utterances
    );
    assert!(
        seen.iter().any(|e| matches!(e, Envelope::End { .. })),
        "{seen:#?}"
    );
}
