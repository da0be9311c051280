"""Times the linearizability checker on the reference histories and prints how many it decided.

Run: .venv/bin/python -m bench.linearizability_check [--budget-s 10] [--data DIR]
"""

from __future__ import annotations

import argparse
import random
import time
from pathlib import Path

from utils.linearizability import (
    CheckResult,
    Operation,
    check_operations,
    kv_model,
    parse_jepsen_etcd_log,
    parse_kv_history,
    register_model,
)

# The reference histories kept with the tests (Porcupine's test data; tests/data/linearizability/README.md).
DEFAULT_DATA_DIR = Path(__file__).resolve().parents[1] / "tests" / "data" / "linearizability"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA_DIR)
    parser.add_argument("--budget-s", type=float, default=10.0, help="per-history time budget")
    parser.add_argument("--slowest", type=int, default=8, help="how many slowest histories to list")
    args = parser.parse_args()
    data = Path(args.data)
    verdicts = {}
    for line in (data / "etcd" / "verdicts.tsv").read_text().splitlines()[1:]:
        name, verdict = line.split("\t")
        verdicts[name] = CheckResult.OK if verdict == "true" else CheckResult.ILLEGAL
    cases = [
        (data / "etcd" / name, register_model, parse_jepsen_etcd_log, expected)
        for name, expected in sorted(verdicts.items())
    ]
    for path in sorted((data / "kv").glob("c*-*.txt")):
        expected = CheckResult.OK if path.stem.endswith("-ok") else CheckResult.ILLEGAL
        cases.append((path, kv_model, parse_kv_history, expected))

    timings: list[tuple[float, str, CheckResult]] = []
    wrong = 0
    started = time.perf_counter()
    for path, model, parse, expected in cases:
        history = parse(path)
        begin = time.perf_counter()
        result = check_operations(model, history, timeout_s=args.budget_s)
        elapsed_s = time.perf_counter() - begin
        timings.append((elapsed_s, path.name, result))
        if result is not CheckResult.UNKNOWN and result is not expected:
            wrong += 1
            print(f"WRONG {path.name}: got {result.value}, expected {expected.value}")
    total_s = time.perf_counter() - started
    decided = sum(1 for _, _, result in timings if result is not CheckResult.UNKNOWN)
    print(
        f"histories: {len(cases)}  decided: {decided}  wrong: {wrong}  "
        f"total: {total_s:.2f} s  (budget {args.budget_s} s each)"
    )
    for elapsed_s, name, result in sorted(timings, reverse=True)[: args.slowest]:
        print(f"  {name:16s} {elapsed_s:7.3f} s  {result.value}")
    wrong += synthetic_scale(args.budget_s)
    return 1 if wrong else 0


def synthetic_register_history(operations_total: int, clients: int, seed: int) -> list[Operation]:
    """A linearizable register history of the length a simulation produces: the i-th operation
    takes effect at time i and its interval is widened by up to `clients` time units each side."""
    rng = random.Random(seed)
    state: int | None = None
    history = []
    for point in range(operations_total):
        call, return_time = point - rng.random() * clients, point + rng.random() * clients
        draw = rng.random()
        if draw < 0.5:
            history.append(Operation(point, ("read", None), call, state, return_time))
        elif draw < 0.8:
            state = rng.randrange(5)
            history.append(Operation(point, ("write", state), call, None, return_time))
        else:
            expected, new = rng.randrange(5), rng.randrange(5)
            swapped = state == expected
            state = new if swapped else state
            history.append(Operation(point, ("cas", (expected, new)), call, swapped, return_time))
    return history


def synthetic_scale(budget_s: float) -> int:
    print("synthetic linearizable register histories (seed 1):")
    wrong = 0
    for operations_total, clients in [(1000, 5), (5000, 5), (1000, 10)]:
        history = synthetic_register_history(operations_total, clients, seed=1)
        begin = time.perf_counter()
        result = check_operations(register_model, history, timeout_s=budget_s)
        elapsed_s = time.perf_counter() - begin
        wrong += result is CheckResult.ILLEGAL
        print(f"  {operations_total:5d} ops, overlap {clients:2d}: {elapsed_s:7.3f} s  {result.value}")
    return wrong


if __name__ == "__main__":
    raise SystemExit(main())
