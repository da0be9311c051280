#!/usr/bin/env bash
# Downloads the runtime dependencies as wheels on the host (which reaches PyPI), so images install
# them with no network: `pip install --no-index --find-links`.
set -euo pipefail
cd "$(dirname "$0")/.."
out=".build/wheelhouse"
python3 - <<'PY' > docker/requirements.txt
import tomllib
deps = tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]
print("# Generated from pyproject.toml by docker/build-wheelhouse.sh: the images' runtime dependencies.")
print("\n".join(deps))
PY
# Skipped when the wheelhouse already holds this requirements list (repeat `make up`s and test runs
# need no network then); any change to the dependencies downloads again.
stamp="$out/.requirements.sha256"
want="$(sha256sum docker/requirements.txt | cut -d' ' -f1)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  echo "wheelhouse: up to date ($(ls "$out" | wc -l) wheels in $out)"; exit 0
fi
mkdir -p "$out"
arch="$(uname -m)"      # the images run on the host's architecture (x86_64, aarch64)
python3 -m pip download -q --only-binary=:all: --python-version 3.11 --platform "manylinux2014_$arch" \
  --platform "manylinux_2_17_$arch" --platform "manylinux_2_28_$arch" --platform "linux_$arch" \
  --implementation cp -d "$out" -r docker/requirements.txt
python3 -m pip download -q --only-binary=:all: --python-version 3.11 --implementation cp -d "$out" pip
echo "$want" > "$stamp"
echo "wheelhouse: $(ls "$out" | wc -l) wheels in $out"
