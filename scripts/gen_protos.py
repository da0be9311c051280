"""Generates the Python gRPC code for every .proto under utils/pb/ (the product) and testing/pb/ (the test
harness), beside each proto.

`--check` regenerates into a scratch folder and fails when the committed code is missing or stale.
"""

from __future__ import annotations

import argparse
import filecmp
import sys
import tempfile
from pathlib import Path

from grpc_tools import protoc

ROOT = Path(__file__).resolve().parent.parent
PB_DIRS = (ROOT / "utils" / "pb", ROOT / "testing" / "pb")
GENERATED_SUFFIXES = ("_pb2.py", "_pb2.pyi", "_pb2_grpc.py")


def proto_files() -> list[Path]:
    return sorted(p for pb_dir in PB_DIRS for p in pb_dir.rglob("*.proto"))


def generate(out_dir: Path) -> None:
    """Runs protoc with the repository root as include path, so imports read `utils.pb.x.y_pb2`."""
    protos = [str(p.relative_to(ROOT)) for p in proto_files()]
    if not protos:
        return
    include = str(Path(protoc.__file__).parent / "_proto")
    args = [
        "protoc",
        f"-I{ROOT}",
        f"-I{include}",
        f"--python_out={out_dir}",
        f"--pyi_out={out_dir}",
        f"--grpc_python_out={out_dir}",
        *protos,
    ]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")


def generated_files(base: Path) -> set[Path]:
    found: set[Path] = set()
    for suffix in GENERATED_SUFFIXES:
        found.update(p.relative_to(base) for p in base.rglob(f"*{suffix}") if ".venv" not in p.parts)
    return found


def ensure_packages() -> None:
    """Every folder holding a proto is a package, so generated imports resolve."""
    for proto in proto_files():
        for folder in [proto.parent, *proto.parent.parents]:
            if folder == ROOT:
                break
            (folder / "__init__.py").touch(exist_ok=True)


def check() -> int:
    with tempfile.TemporaryDirectory() as scratch:
        scratch_path = Path(scratch)
        generate(scratch_path)
        expected = generated_files(scratch_path)
        actual = {p for p in generated_files(ROOT) if p.parts[:2] in {("utils", "pb"), ("testing", "pb")}}
        problems = [f"missing: {p}" for p in sorted(expected - actual)]
        problems += [f"orphaned (no proto): {p}" for p in sorted(actual - expected)]
        problems += [
            f"stale: {p}"
            for p in sorted(expected & actual)
            if not filecmp.cmp(scratch_path / p, ROOT / p, shallow=False)
        ]
    for line in problems:
        print(line, file=sys.stderr)
    if problems:
        print("generated gRPC code is missing or stale: run `make proto`", file=sys.stderr)
        return 1
    print(f"generated gRPC code is fresh ({len(expected)} files)")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail when generated code is missing or stale")
    args = parser.parse_args()
    if args.check:
        return check()
    ensure_packages()
    for pb_dir in PB_DIRS:
        for stale in generated_files(pb_dir):
            (pb_dir / stale).unlink()
    generate(ROOT)
    print(f"generated {sum(len(generated_files(d)) for d in PB_DIRS)} files from {len(proto_files())} protos")
    return 0


if __name__ == "__main__":
    sys.exit(main())
