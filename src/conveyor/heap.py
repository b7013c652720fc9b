"""Keeping a server's start-up objects out of the garbage collector's full passes.

A full collection walks every tracked object, and a started `conveyor serve` holds about
65,000 (the imported framework, its schemas and routes): on a 2-core VM one full pass
took 45-60 ms, and under a steady load of requests, whose in-flight objects age into
the oldest generation, it ran about twice a second. That was the p99 of the HTTP submit
(60-70 ms at 64 connections). Objects made at start-up live as long as the process, so
they are moved out of the collector's reach once the process has started.
"""

from __future__ import annotations

import gc


def freeze_startup_objects() -> None:
    """Collect what start-up left as garbage, then exempt every object alive now from
    later collections (`gc.freeze`); what the process makes from now on is collected as
    usual. For a process's entry point, once started; not for a library caller, whose
    own objects it would exempt too."""
    gc.collect()
    gc.freeze()
