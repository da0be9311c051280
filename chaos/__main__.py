"""`python -m chaos`: checkouts at a steady rate while nodes are killed, paused and cut off, then proof that
nothing was lost or applied twice (docs/design.md §6). Exit status 0: every invariant held; 1: one was violated;
2: the run could not be carried out.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import signal
import sys
from pathlib import Path
from types import FrameType

from chaos.fleets import FleetHandle, attach, start_local
from chaos.records import Observed
from chaos.report import Report, render_text
from chaos.run import ChaosRun, faults_supported
from chaos.scenario import LoadProfile, Options, parse_faults, parse_schedule
from testing.fleet_env import settings_from
from utils.fleet.__main__ import load_env_file
from utils.fleet.launcher import REPO_ROOT
from utils.rpc.trust import Trust, install_trust, roster_from
from utils.tls import FleetTls
from utils.tls.fleet import OPERATOR

EXIT_PASSED, EXIT_VIOLATED, EXIT_ERROR = 0, 1, 2


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m chaos", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--fleet",
        choices=["local", "docker", "attach"],
        default="local",
        help="local: start a private fleet (default); docker: the compose fleet (make up); "
        "attach: a running fleet at --api, load and checks only",
    )
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load (default 60)")
    parser.add_argument("--rate", type=float, default=5.0, help="checkouts started per second (default 5)")
    parser.add_argument("--concurrency", type=int, default=32, help="checkouts in flight at most (default 32)")
    parser.add_argument("--seed", type=int, default=1, help="seeds the orders, the fault schedule and targets")
    parser.add_argument(
        "--faults",
        default="kill,pause",
        help="comma-separated: kill, pause, isolate, slow, roll; or none (default kill,pause)",
    )
    parser.add_argument(
        "--schedule",
        default=None,
        help="explicit faults instead of drawn ones: AT:KIND:SERVICE[:ROLE]:HOLD,… e.g. "
        "5:kill:books_database:follower:3,20:pause:order_executor:leader:3",
    )
    parser.add_argument(
        "--slow-by",
        choices=["throttle", "setting"],
        default="throttle",
        help="local slow faults: throttle (SIGSTOP 80%% of the time, default) or setting (restart "
        "the payment service with PAYMENT_DELAY_MS)",
    )
    parser.add_argument("--settle", type=float, default=10.0, help="I3: seconds every order has to end after healing")
    parser.add_argument("--hot-books", type=int, default=3, help="books most orders compete for (default 3)")
    parser.add_argument("--declined", type=float, default=0.10, help="share of orders with the declined card")
    parser.add_argument("--rejected", type=float, default=0.15, help="share of orders rejected at validation")
    parser.add_argument("--last-copies", type=int, default=3, help="I5 burst: k copies (0 = no burst)")
    parser.add_argument("--api", default=None, help="attach/docker: the orchestrator's URL")
    parser.add_argument(
        "--workdir",
        type=Path,
        default=None,
        help="local: data and logs of the private fleet (default data/chaos/<time>)",
    )
    parser.add_argument("--json", type=Path, default=None, help="also write the report as JSON here")
    parser.add_argument(
        "--history",
        type=Path,
        default=None,
        help="also write the raw record (every request, answer, sample, fault) as JSON here",
    )
    parser.add_argument(
        "--report-dir",
        type=Path,
        default=None,
        help="where the text, HTML and EDN reports go (default data/chaos/reports/<time>-seed<seed>/)",
    )
    return parser.parse_args(argv)


def options_from(args: argparse.Namespace) -> Options:
    profile = LoadProfile(
        rate_per_s=args.rate,
        concurrency_max=args.concurrency,
        hot_books=args.hot_books,
        declined_fraction=args.declined,
        rejected_fraction=args.rejected,
    )
    schedule = None if args.schedule is None else tuple(parse_schedule(args.schedule))
    faults = tuple(dict.fromkeys(e.kind for e in schedule)) if schedule is not None else parse_faults(args.faults)
    return Options(
        duration_s=args.duration,
        seed=args.seed,
        faults=faults,
        load=profile,
        schedule=schedule,
        settle_s=args.settle,
        last_copies=args.last_copies,
        cooldown_s=min(8.0, args.duration / 4),
        warmup_s=min(5.0, args.duration / 6),
    )


def open_fleet(args: argparse.Namespace) -> FleetHandle:
    if args.fleet == "local":
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        workdir = args.workdir or REPO_ROOT / "data" / "chaos" / f"{stamp}-seed{args.seed}"
        print(f"starting a private fleet; logs in {workdir / 'logs'}/", file=sys.stderr, flush=True)
        return start_local(workdir, args.seed, slow_by=args.slow_by)
    if args.fleet == "docker":
        from chaos.faults.docker import open_docker_fleet

        return open_docker_fleet(args.api or "http://127.0.0.1:8081")
    # The process environment wins over variables.env, as for `make run`.
    env = {**load_env_file(REPO_ROOT / "variables.env"), **os.environ}
    settings = settings_from(env)
    # The running fleet's certificates (TLS_DIR, `make run`: data/tls), presented as the operator (docs/trust.md).
    tls_dir = Path(env.get("TLS_DIR") or REPO_ROOT / "data" / "tls")
    install_trust(Trust(FleetTls(tls_dir, OPERATOR), roster_from(settings), health_port=None))
    return attach(args.api or settings.orchestrator_url, settings)


def default_report_dir(seed: int) -> Path:
    return REPO_ROOT / "data" / "chaos" / "reports" / f"{dt.datetime.now().strftime('%Y%m%d-%H%M%S')}-seed{seed}"


def write_reports(report: Report, observed: Observed, text: str, folder: Path) -> None:
    """Beside the text report: one self-contained HTML page and the history in Jepsen's EDN (docs/watching.md)."""
    from chaos.html_report import write_html  # matplotlib: loaded only when a report is written
    from chaos.jepsen import write_edn

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "report.txt").write_text(text + "\n")
    write_html(report, observed, text, folder / "report.html")
    write_edn(observed, folder / "history.edn")
    print(f"chaos: reports in {folder}/ (report.txt, report.html, history.edn)", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    try:
        options = options_from(args)
    except ValueError as error:
        print(f"chaos: {error}", file=sys.stderr)
        return EXIT_ERROR

    def on_term(signum: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt  # unwinds through the finally blocks: faults healed, fleet stopped

    signal.signal(signal.SIGTERM, on_term)
    handle: FleetHandle | None = None
    try:
        handle = open_fleet(args)
        for warning in faults_supported(options, handle):
            print(f"chaos: {warning} (those faults are reported as not injected)", file=sys.stderr)
        run = ChaosRun(options, handle, history_path=args.history)
        report = run.execute()
    except KeyboardInterrupt:
        print("chaos: interrupted", file=sys.stderr)
        return EXIT_ERROR
    except (RuntimeError, TimeoutError, ValueError, OSError) as error:
        print(f"chaos: the run could not be carried out: {error}", file=sys.stderr)
        return EXIT_ERROR
    finally:
        if handle is not None:
            if handle.injector is not None:
                handle.injector.heal_all()
            handle.close()
    text = render_text(report)
    print(text)
    if run.observed is not None:
        write_reports(report, run.observed, text, args.report_dir or default_report_dir(args.seed))
    if args.json:
        args.json.write_text(json.dumps(report.to_json(), indent=2))
    return EXIT_PASSED if report.passed else EXIT_VIOLATED


if __name__ == "__main__":
    sys.exit(main())
