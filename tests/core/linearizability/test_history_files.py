"""The two reference-format parsers on small hand-written files: what each event type becomes.

Time is the line index; :info and never-completed operations return at inf.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from utils.linearizability import UNKNOWN_OUTPUT, Operation, parse_jepsen_etcd_log, parse_kv_history

ETCD_LOG = """\
INFO  jepsen.util - 0\t:invoke\t:read\tnil
INFO  jepsen.util - 1\t:invoke\t:write\t3
INFO  jepsen.util - 0\t:ok\t:read\tnil
INFO  jepsen.util - 2   :invoke :cas    [3 4]
INFO  jepsen.util - 1\t:info\t:write\t:timed-out
some unrelated log line
INFO  jepsen.util - 2\t:fail\t:cas\t[3 4]
INFO  jepsen.util - 0\t:invoke\t:read\tnil
INFO  jepsen.util - 0\t:fail\t:read\t:timed-out
INFO  jepsen.util - 3\t:invoke\t:cas\t[0 1]
INFO  jepsen.util - 4\t:invoke\t:read\tnil
INFO  jepsen.util - 4\t:ok\t:read\t3
"""


def test_etcd_log_events_become_operations(tmp_path: Path) -> None:
    path = tmp_path / "etcd.log"
    path.write_text(ETCD_LOG)
    assert parse_jepsen_etcd_log(path) == [
        Operation(0, ("read", None), 0, None, 2),
        Operation(1, ("write", 3), 1, UNKNOWN_OUTPUT, math.inf),
        Operation(2, ("cas", (3, 4)), 3, False, 6),
        # the :fail read (lines 7-8) is dropped: it did not happen
        Operation(3, ("cas", (0, 1)), 9, UNKNOWN_OUTPUT, math.inf),  # never completed
        Operation(4, ("read", None), 10, 3, 11),
    ]


def test_etcd_completion_without_invoke_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "etcd.log"
    path.write_text("INFO  jepsen.util - 0\t:ok\t:read\tnil\n")
    with pytest.raises(ValueError, match="without invoke"):
        parse_jepsen_etcd_log(path)


KV_HISTORY = """\
{:process 0, :type :invoke, :f :append, :key "k", :value "x 0 0 y"}
{:process 1, :type :invoke, :f :get, :key "k", :value nil}
{:process 0, :type :ok, :f :append, :key "k", :value "x 0 0 y"}
{:process 1, :type :ok, :f :get, :key "k", :value "x 0 0 y"}
{:process 2, :type :invoke, :f :put, :key "j", :value "v"}
"""


def test_kv_history_lines_become_operations(tmp_path: Path) -> None:
    path = tmp_path / "kv.txt"
    path.write_text(KV_HISTORY)
    assert parse_kv_history(path) == [
        Operation(0, ("append", "k", "x 0 0 y"), 0, None, 2),
        Operation(1, ("get", "k", None), 1, "x 0 0 y", 3),
        Operation(2, ("put", "j", "v"), 4, UNKNOWN_OUTPUT, math.inf),
    ]


def test_kv_history_rejects_an_unrecognised_line(tmp_path: Path) -> None:
    path = tmp_path / "kv.txt"
    path.write_text("{:process 0, :type :invoke}\n")
    with pytest.raises(ValueError, match="unrecognised"):
        parse_kv_history(path)
