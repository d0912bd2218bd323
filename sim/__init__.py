"""Simulation: cocotb benches, drivers and runner glue."""
