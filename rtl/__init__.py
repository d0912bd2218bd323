"""Amaranth RTL: the engines and units lutmix generates."""
