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
mkdir -p "$out"
python3 -m pip download -q --only-binary=:all: --python-version 3.11 --platform manylinux2014_x86_64 \
  --platform manylinux_2_17_x86_64 --platform manylinux_2_28_x86_64 --platform linux_x86_64 \
  --implementation cp -d "$out" -r docker/requirements.txt
python3 -m pip download -q --only-binary=:all: --python-version 3.11 --implementation cp -d "$out" pip
echo "wheelhouse: $(ls "$out" | wc -l) wheels in $out"
