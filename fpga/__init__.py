"""FPGA flows: synthesis, boards and reports."""
