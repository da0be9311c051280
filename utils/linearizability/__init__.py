"""The project's linearizability checker: operations, models, the search and reference-history parsers.

Import from here; the submodules are implementation detail.
"""

from utils.linearizability.checker import check_operations, check_operations_verbose
from utils.linearizability.history_files import parse_jepsen_etcd_log, parse_kv_history
from utils.linearizability.models import (
    Model,
    counter_model,
    kv_model,
    partition_by_input_field,
    register_model,
    stock_model,
)
from utils.linearizability.operation import UNKNOWN_OUTPUT, Operation
from utils.linearizability.report import CheckReport, CheckResult

__all__ = [
    "UNKNOWN_OUTPUT",
    "CheckReport",
    "CheckResult",
    "Model",
    "Operation",
    "check_operations",
    "check_operations_verbose",
    "counter_model",
    "kv_model",
    "parse_jepsen_etcd_log",
    "parse_kv_history",
    "partition_by_input_field",
    "register_model",
    "stock_model",
]
