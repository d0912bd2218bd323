"""Models run on lutmix's units: all-MiniLM-L6-v2 and its weight quantizers.

The core package holds the hardware's arithmetic and the CLI; this subpackage holds what
runs a real model on it (:mod:`.minilm`, :mod:`.minilm_flow`, :mod:`.minilm_demo`,
:mod:`.quantize`).
"""
