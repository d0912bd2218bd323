"""FPGA flows: synthesis and place-and-route reports, design-space sweeps.

* :mod:`~lutmix.fpga.targets`: the devices (ECP5-25k/85k, iCE40-UP5K/HX8K) and their cells;
* :mod:`~lutmix.fpga.wrapper`: the few-pin top that keeps a unit's logic alive;
* :mod:`~lutmix.fpga.tools`: running YoWASP's Yosys and nextpnr, their cache and versions;
* :mod:`~lutmix.fpga.synth`: ``lutmix synth``, one config on one target;
* :mod:`~lutmix.fpga.sweep`, :mod:`~lutmix.fpga.executors`, :mod:`~lutmix.fpga.results`,
  :mod:`~lutmix.fpga.progress`: ``lutmix sweep``, a grid of them, in parallel and resumable.
"""
