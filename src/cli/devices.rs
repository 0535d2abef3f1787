//! `zhijian devices`: the input devices `zhijian live` can capture from.

use anyhow::Result;

use crate::capture::input_devices;

use super::Outcome;

pub(crate) fn run(probe: bool) -> Result<Outcome> {
    let devices = input_devices(probe)?;
    if devices.is_empty() {
        eprintln!("no input devices found (is ALSA or a sound server there?)");
        return Ok(Outcome::SomeFailed);
    }
    let width = devices
        .iter()
        .map(|d| d.name.chars().count())
        .max()
        .unwrap_or(0);
    for d in devices {
        let format = d.format.map(|f| format!(" [{f}]")).unwrap_or_default();
        println!("{:width$}  {}{format}", d.name, d.description);
    }
    Ok(Outcome::Done)
}
