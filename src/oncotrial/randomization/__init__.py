"""Allocation algorithms, pure and seeded: stratified permuted blocks, simple
randomization, Pocock-Simon minimization; checksummed allocation-list files; balance
reports and balance simulations.

Every function here is pure: the same arguments (including the seed) give the same
result on any machine. The IRT service (oncotrial.irt) holds the state.
"""

from oncotrial.randomization.allocation import AllocationList, AllocationRow, canonical_text, rows_checksum
from oncotrial.randomization.balance import BalanceReport, BalanceRow, balance_report
from oncotrial.randomization.blocks import generate_permuted_blocks
from oncotrial.randomization.listfile import (
    ListVerification,
    read_allocation_list,
    verify_allocation_list,
    write_allocation_list,
)
from oncotrial.randomization.minimization import Minimization
from oncotrial.randomization.simple import generate_simple
from oncotrial.randomization.simulation import BalanceSimulation, simulate_balance
from oncotrial.randomization.strata import Stratum, enumerate_strata, stratum_key

__all__ = [
    "AllocationList",
    "AllocationRow",
    "BalanceReport",
    "BalanceRow",
    "BalanceSimulation",
    "ListVerification",
    "Minimization",
    "Stratum",
    "balance_report",
    "canonical_text",
    "enumerate_strata",
    "generate_permuted_blocks",
    "generate_simple",
    "read_allocation_list",
    "rows_checksum",
    "simulate_balance",
    "stratum_key",
    "verify_allocation_list",
    "write_allocation_list",
]
