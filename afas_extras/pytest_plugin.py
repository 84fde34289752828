"""The pytest plugin entry point of ``tap-afas``: the afas-sandbox fixtures, when installed.

The fixtures (``afas_sandbox``, ``afas_sandbox_factory``, ``afas_sandbox_templates``) live in
``afas_sandbox.pytest_plugin`` and need the ``[sandbox]`` extra. pytest loads every installed
plugin at start-up, so without that extra this module registers nothing, rather than
breaking pytest for a project that only uses the tap or the targets.
"""

from __future__ import annotations

from afas_extras import missing_packages

pytest_plugins = [] if missing_packages("sandbox") else ["afas_sandbox.pytest_plugin"]
