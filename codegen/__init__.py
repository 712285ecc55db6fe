"""slogen: compile Sloth-compatible SLO specs into Prometheus rules, promtool tests, dashboards and docs.

The compiler is a straight line: ``loader`` reads YAML with line numbers, ``parse`` validates it into the frozen
``model``, ``compiler`` runs each SLO through its chain of SLO plugins into a frozen plan, renderers are pure
functions of the plans, and ``writer`` puts files on disk atomically (see docs/architecture.md).
"""

__version__ = "0.1.0"
GENERATOR = f"slogen {__version__}"
