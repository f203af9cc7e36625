"""Allocation algorithms, pure and seeded: stratified permuted blocks, simple
randomization, Pocock-Simon minimization; checksummed allocation-list files; balance
reports and balance simulations.

Every function here is pure: the same arguments (including the seed) give the same
result on any machine. The IRT service (oncotrial.irt) holds the state.
"""

from oncotrial import lazy_exports

__all__, __getattr__, __dir__ = lazy_exports(__name__, globals(), {
    "allocation": ["AllocationList", "AllocationRow", "canonical_text", "rows_checksum"],
    "balance": ["BalanceReport", "BalanceRow", "balance_report"],
    "blocks": ["generate_permuted_blocks"],
    "listfile": ["ListVerification", "read_allocation_list", "verify_allocation_list", "write_allocation_list"],
    "minimization": ["Minimization"],
    "simple": ["generate_simple"],
    "simulation": ["BalanceSimulation", "simulate_balance"],
    "strata": ["Stratum", "enumerate_strata", "stratum_key"],
})
