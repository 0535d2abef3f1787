#!/usr/bin/env python3
"""faster-whisper baseline for zhijian's transcription benchmark.

Transcribes each party's channel separately, as zhijian does: stereo files are split into their
two channels (channel → party from the `<stem>.events.json` sidecar when it has "channels",
otherwise channel 0 = agent, channel 1 = customer); a mono file is one "mixed" party. Decoding
settings match zhijian's: language zh, beam search, initial prompt 以下是普通话的句子。, with
faster-whisper's own Silero VAD in front.

Prints one JSON object per (file, party) to standard output (JSON Lines):
    {"file", "party", "audio_seconds", "wall_seconds", "text"}
wall_seconds covers transcription only (VAD, encoding, decoding: the lazy segment generator is
consumed inside the timed region), not reading or resampling the file. The model load time and a
summary go to standard error.

Set up with benches/faster_whisper_setup.sh, then:
    benches/.venv/bin/python benches/faster_whisper_bench.py \
        --model-dir ~/.cache/zhijian/ct2-whisper-base --threads 2 --beam 5 fixtures/calls/*.wav
"""

import argparse
import json
import sys
import time
from pathlib import Path

PROMPT = "以下是普通话的句子。"
SAMPLE_RATE = 16000


def channel_count(path: Path) -> int:
    import av

    with av.open(str(path), metadata_errors="ignore") as c:
        s = c.streams.audio[0]
        n = getattr(s, "channels", None) or getattr(s.codec_context, "channels", None)
        return int(n or s.layout.nb_channels)


def party_channels(path: Path) -> dict:
    """{party: channel index} from the sidecar (CONTRACT §1), defaulting to agent 0, customer 1."""
    sidecar = path.with_suffix("").with_suffix(".events.json")
    mapping = {"agent": 0, "customer": 1}
    if sidecar.is_file():
        ch = json.loads(sidecar.read_text(encoding="utf-8")).get("channels")
        if ch:
            mapping = {p: int(i) for p, i in ch.items() if p in ("agent", "customer")}
    return mapping


def parties_audio(path: Path):
    """[(party, float32 mono audio at 16 kHz)], agent first."""
    from faster_whisper import decode_audio

    n = channel_count(path)
    if n == 1:
        return [("mixed", decode_audio(str(path), sampling_rate=SAMPLE_RATE))]
    if n != 2:
        raise ValueError(f"{path}: {n} channels; expected mono or stereo")
    chans = decode_audio(str(path), sampling_rate=SAMPLE_RATE, split_stereo=True)
    mapping = party_channels(path)
    out = []
    for party in ("agent", "customer"):
        i = mapping.get(party)
        if i is None or i not in (0, 1):
            raise ValueError(f"{path}: sidecar maps {party} to channel {i!r}")
        out.append((party, chans[i]))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model-dir", required=True, type=Path,
                    help="CTranslate2 Whisper model directory (model.bin, config.json, "
                         "tokenizer.json, vocabulary.txt)")
    ap.add_argument("--threads", type=int, default=2, help="CPU threads (default 2)")
    ap.add_argument("--beam", type=int, default=5, help="beam size (default 5)")
    ap.add_argument("--out", type=Path, help="also write the JSON Lines to this file")
    ap.add_argument("wavs", nargs="+", type=Path)
    args = ap.parse_args()

    from faster_whisper import WhisperModel

    t0 = time.perf_counter()
    model = WhisperModel(str(args.model_dir), device="cpu", compute_type="int8",
                         cpu_threads=args.threads, num_workers=1)
    load_s = time.perf_counter() - t0
    print(json.dumps({"model_dir": str(args.model_dir), "load_seconds": round(load_s, 3),
                      "threads": args.threads, "beam": args.beam}), file=sys.stderr, flush=True)

    out = open(args.out, "w", encoding="utf-8") if args.out else None
    total_audio = total_wall = 0.0
    failed = 0
    for path in args.wavs:
        try:
            parts = parties_audio(path)
        except Exception as e:  # report and go on with the other files
            print(f"{path}: cannot read: {e}", file=sys.stderr, flush=True)
            failed += 1
            continue
        for party, audio in parts:
            t = time.perf_counter()
            segments, _info = model.transcribe(audio, language="zh", beam_size=args.beam,
                                               initial_prompt=PROMPT, vad_filter=True)
            text = "".join(s.text for s in segments)
            wall = time.perf_counter() - t
            rec = {"file": str(path), "party": party,
                   "audio_seconds": round(len(audio) / SAMPLE_RATE, 3),
                   "wall_seconds": round(wall, 3), "text": text}
            line = json.dumps(rec, ensure_ascii=False)
            print(line, flush=True)
            if out:
                out.write(line + "\n")
                out.flush()
            total_audio += rec["audio_seconds"]
            total_wall += wall
    if out:
        out.close()
    print(json.dumps({"audio_seconds": round(total_audio, 3),
                      "wall_seconds": round(total_wall, 3),
                      "rtf": round(total_wall / total_audio, 4) if total_audio else None,
                      "load_seconds": round(load_s, 3)}), file=sys.stderr)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
