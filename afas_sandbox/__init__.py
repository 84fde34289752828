"""afas-sandbox: a faithful local AFAS Profit REST environment with realistic demo data.

An independent implementation of the AFAS contract in ``shared/docs/afas-rest-api.md``: it never
imports ``afas_profit``, ``tap_afas`` or ``target_afas``, so a bug in their encoding cannot be
mirrored here and hidden. Start one with ``start_sandbox()`` or ``afas-sandbox serve``.
"""

from afas_sandbox.clock import ManualClock, SystemClock
from afas_sandbox.faults import Fault, FaultPlan, LatencyModel
from afas_sandbox.server import RunningSandbox, SandboxTokens, TemplateCache, start_sandbox
from afas_sandbox.world import MutationResult

__all__ = [
    "Fault",
    "FaultPlan",
    "LatencyModel",
    "ManualClock",
    "MutationResult",
    "RunningSandbox",
    "SandboxTokens",
    "SystemClock",
    "TemplateCache",
    "start_sandbox",
]
