//! Audio capture from input devices (cpal; ALSA on Linux, which reaches PulseAudio and PipeWire
//! through their ALSA plugins).
//!
//! In: a device name (an ALSA PCM id such as `pulse` or `hw:CARD=0,DEV=0`, or a device's
//! description). Out: the device's samples, one party per device, mono at the device's own rate
//! (the channels of one device carry one party, so they are averaged).
//!
//! Threads: cpal calls the data callback on its own real-time thread. The callback only copies
//! the samples (converting integers to float) into a lock-free ring ([`rtrb`]) preallocated when
//! the stream opens: no allocation, lock, logging or unwrap there. When the ring is full the
//! samples that do not fit are dropped and counted (an overrun, in an atomic). The error
//! callback only sets atomics. Everything else — draining the ring, noticing a lost device,
//! reopening it — happens on the thread that owns the [`Capture`] (the live audio thread), which
//! also reports overruns.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};
use cpal::{Device, ErrorKind, SampleFormat, StreamConfig};
use rtrb::{Consumer, Producer, RingBuffer};

/// The longest the capture ring can hold, in seconds of the device's audio: the reader drains it
/// every 10 ms, so only a stalled pipeline fills it.
const RING_SECONDS: f64 = 4.0;

/// A stream that has delivered nothing for this long is taken for lost (a PulseAudio source
/// that went away can leave an ALSA stream open but silent forever)…
const STALL: Duration = Duration::from_secs(2);
/// …and one that has not started delivering this long after it opened (a loaded machine can
/// take a while to schedule a new stream's thread).
const STARTUP: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    /// Set-up: no such input device. Retrying helps once it is plugged in.
    #[error("no input device {name:?}; the input devices are: {known}")]
    NotFound { name: String, known: String },
    /// Set-up: the audio system cannot be reached (no ALSA, no sound server).
    #[error("cannot list audio devices: {0}")]
    Host(String),
    /// Set-up: the device exists but will not open for capture as asked.
    #[error("cannot capture from {name:?}: {reason}")]
    Open { name: String, reason: String },
}

impl CaptureError {
    /// Whether trying again later can help (the device may come back).
    pub fn retryable(&self) -> bool {
        !matches!(self, CaptureError::Open { .. })
    }
}

/// An input device as `zhijian devices` lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceInfo {
    /// What `--agent-device` / `--customer-device` take (the ALSA PCM id).
    pub name: String,
    /// The device's own description.
    pub description: String,
    /// Its default capture format, e.g. `44100 Hz, 2 ch, f32`, if it opens.
    pub format: Option<String>,
}

/// Every input device the audio system reports; with `probe`, each is opened to read its
/// default format (ALSA plugins that cannot open print their own complaints on stderr).
pub fn input_devices(probe: bool) -> Result<Vec<DeviceInfo>, CaptureError> {
    let host = cpal::default_host();
    let devices = host
        .input_devices()
        .map_err(|e| CaptureError::Host(e.to_string()))?;
    Ok(devices
        .map(|d| {
            let name = device_name(&d);
            let description = d
                .description()
                .map(|desc| {
                    let mut lines: Vec<String> = vec![desc.name().to_string()];
                    lines.extend(desc.extended().map(str::to_string));
                    lines.dedup();
                    lines.join(" · ")
                })
                .unwrap_or_default();
            let format = probe
                .then(|| d.default_input_config().ok())
                .flatten()
                .map(|c| {
                    format!(
                        "{} Hz, {} ch, {}",
                        c.sample_rate(),
                        c.channels(),
                        c.sample_format()
                    )
                });
            DeviceInfo {
                name,
                description,
                format,
            }
        })
        .collect())
}

fn device_name(d: &Device) -> String {
    d.id()
        .map(|id| id.id().to_string())
        .or_else(|_| d.description().map(|desc| desc.name().to_string()))
        .unwrap_or_default()
}

/// Finds an input device by its name (PCM id) or, failing that, its description.
fn find(name: &str) -> Result<Device, CaptureError> {
    let host = cpal::default_host();
    let devices: Vec<Device> = host
        .input_devices()
        .map_err(|e| CaptureError::Host(e.to_string()))?
        .collect();
    let by_id = devices.iter().position(|d| device_name(d) == name);
    let by_description = || {
        devices.iter().position(|d| {
            d.description()
                .map(|desc| desc.name() == name)
                .unwrap_or(false)
        })
    };
    match by_id.or_else(by_description) {
        Some(i) => Ok(devices
            .into_iter()
            .nth(i)
            .expect("index from the same list")),
        None => Err(CaptureError::NotFound {
            name: name.to_string(),
            known: devices
                .iter()
                .map(device_name)
                .collect::<Vec<_>>()
                .join(", "),
        }),
    }
}

/// Checks that an input device of that name exists (without opening it).
pub fn check_device(name: &str) -> Result<(), CaptureError> {
    find(name).map(|_| ())
}

/// What the callbacks share with the owning thread: atomics only.
#[derive(Debug, Default)]
struct Shared {
    /// Samples dropped because the ring was full.
    overruns: AtomicU64,
    /// Samples the device delivered.
    delivered: AtomicU64,
    /// The stream reported that the device is gone.
    gone: AtomicBool,
    /// Stream errors other than that (xruns and the like).
    errors: AtomicU64,
}

/// An open capture stream from one device.
pub struct Capture {
    name: String,
    rate: u32,
    channels: usize,
    consumer: Consumer<f32>,
    shared: Arc<Shared>,
    /// When the stream last delivered samples, as seen from the owning thread.
    last_data: Instant,
    seen_delivered: u64,
    /// Kept alive for the callbacks; dropping it stops them.
    _stream: cpal::Stream,
}

impl Capture {
    /// Opens `name` at its default capture format and starts it.
    pub fn open(name: &str) -> Result<Capture, CaptureError> {
        let device = find(name)?;
        let open_error = |reason: String| CaptureError::Open {
            name: name.to_string(),
            reason,
        };
        let supported = device.default_input_config().map_err(|e| match e.kind() {
            ErrorKind::DeviceNotAvailable | ErrorKind::DeviceBusy => CaptureError::NotFound {
                name: name.to_string(),
                known: format!("(it is listed but unavailable: {e})"),
            },
            _ => open_error(e.to_string()),
        })?;
        let config: StreamConfig = supported.config();
        let rate = config.sample_rate;
        let channels = usize::from(config.channels.max(1));
        let capacity = (f64::from(rate) * channels as f64 * RING_SECONDS) as usize;
        let (producer, consumer) = RingBuffer::<f32>::new(capacity);
        let shared = Arc::new(Shared::default());
        let on_error = {
            let shared = Arc::clone(&shared);
            move |e: cpal::Error| {
                if matches!(
                    e.kind(),
                    ErrorKind::DeviceNotAvailable | ErrorKind::StreamInvalidated
                ) {
                    shared.gone.store(true, Ordering::Relaxed);
                } else {
                    shared.errors.fetch_add(1, Ordering::Relaxed);
                }
            }
        };
        let stream = match supported.sample_format() {
            SampleFormat::F32 => {
                let mut writer = RingWriter::new(producer, Arc::clone(&shared));
                device.build_input_stream::<f32, _, _>(
                    config,
                    move |data, _| writer.write(data, |s| s),
                    on_error,
                    None,
                )
            }
            SampleFormat::I16 => {
                let mut writer = RingWriter::new(producer, Arc::clone(&shared));
                device.build_input_stream::<i16, _, _>(
                    config,
                    move |data, _| writer.write(data, |s| f32::from(s) / 32_768.0),
                    on_error,
                    None,
                )
            }
            SampleFormat::I32 => {
                let mut writer = RingWriter::new(producer, Arc::clone(&shared));
                device.build_input_stream::<i32, _, _>(
                    config,
                    move |data, _| writer.write(data, |s| s as f32 / 2_147_483_648.0),
                    on_error,
                    None,
                )
            }
            SampleFormat::U8 => {
                let mut writer = RingWriter::new(producer, Arc::clone(&shared));
                device.build_input_stream::<u8, _, _>(
                    config,
                    move |data, _| writer.write(data, |s| (f32::from(s) - 128.0) / 128.0),
                    on_error,
                    None,
                )
            }
            other => {
                return Err(open_error(format!(
                    "its sample format {other} is not supported (f32, i16, i32 or u8 are)"
                )))
            }
        }
        .map_err(|e| open_error(e.to_string()))?;
        stream.play().map_err(|e| open_error(e.to_string()))?;
        tracing::info!(device = name, rate, channels, "capture started");
        Ok(Capture {
            name: name.to_string(),
            rate,
            channels,
            consumer,
            shared,
            last_data: Instant::now(),
            seen_delivered: 0,
            _stream: stream,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The device's sample rate.
    pub fn rate(&self) -> u32 {
        self.rate
    }

    /// Moves everything in the ring into `out`, one mono sample per frame (the device's
    /// channels averaged: they carry one party). Returns the frames added.
    pub fn read(&mut self, out: &mut Vec<f32>) -> usize {
        let available = self.consumer.slots();
        let whole = available - available % self.channels;
        if whole == 0 {
            return 0;
        }
        let Ok(chunk) = self.consumer.read_chunk(whole) else {
            return 0;
        };
        let (a, b) = chunk.as_slices();
        let before = out.len();
        let scale = 1.0 / self.channels as f32;
        if self.channels == 1 {
            out.extend_from_slice(a);
            out.extend_from_slice(b);
        } else {
            // A frame may straddle the two slices of the ring.
            let mut frame = 0.0f32;
            let mut k = 0;
            for &s in a.iter().chain(b) {
                frame += s;
                k += 1;
                if k == self.channels {
                    out.push(frame * scale);
                    frame = 0.0;
                    k = 0;
                }
            }
        }
        chunk.commit_all();
        out.len() - before
    }

    /// Samples dropped so far because the ring was full.
    pub fn overruns(&self) -> u64 {
        self.shared.overruns.load(Ordering::Relaxed)
    }

    /// Stream errors so far that did not stop it (xruns).
    pub fn errors(&self) -> u64 {
        self.shared.errors.load(Ordering::Relaxed)
    }

    /// Whether the device is gone: the stream said so, or it has delivered nothing for a while.
    pub fn is_lost(&mut self, now: Instant) -> bool {
        if self.shared.gone.load(Ordering::Relaxed) {
            return true;
        }
        let delivered = self.shared.delivered.load(Ordering::Relaxed);
        let limit = if self.seen_delivered == 0 {
            STARTUP
        } else {
            STALL
        };
        if delivered != self.seen_delivered {
            self.seen_delivered = delivered;
            self.last_data = now;
        }
        now.duration_since(self.last_data) > limit
    }
}

/// The producer side, moved into the data callback.
struct RingWriter {
    producer: Producer<f32>,
    shared: Arc<Shared>,
}

impl RingWriter {
    fn new(producer: Producer<f32>, shared: Arc<Shared>) -> Self {
        RingWriter { producer, shared }
    }

    /// The real-time part: copies what fits, counts what does not. No allocation, no lock, no
    /// logging, no panic.
    #[inline]
    fn write<T: Copy>(&mut self, data: &[T], convert: impl Fn(T) -> f32) {
        let fits = data.len().min(self.producer.slots());
        if let Ok(chunk) = self.producer.write_chunk_uninit(fits) {
            chunk.fill_from_iter(data[..fits].iter().map(|&s| convert(s)));
        }
        let dropped = data.len() - fits;
        if dropped > 0 {
            self.shared
                .overruns
                .fetch_add(dropped as u64, Ordering::Relaxed);
        }
        self.shared
            .delivered
            .fetch_add(data.len() as u64, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ring_writer_copies_what_fits_and_counts_the_rest() {
        let (producer, mut consumer) = RingBuffer::<f32>::new(6);
        let shared = Arc::new(Shared::default());
        let mut writer = RingWriter::new(producer, Arc::clone(&shared));
        writer.write(&[16_384i16, -16_384, 0, 32_767], |s| {
            f32::from(s) / 32_768.0
        });
        writer.write(&[1i16, 2, 3, 4], |s| f32::from(s));
        assert_eq!(shared.overruns.load(Ordering::Relaxed), 2);
        assert_eq!(shared.delivered.load(Ordering::Relaxed), 8);
        let got: Vec<f32> = std::iter::from_fn(|| consumer.pop().ok()).collect();
        assert_eq!(got, vec![0.5, -0.5, 0.0, 32_767.0 / 32_768.0, 1.0, 2.0]);
    }
}
