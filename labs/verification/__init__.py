"""Verification of fuel dispensers, electricity meters and taxi meters: instruments, rigs, procedures, runs, results, certificates."""
