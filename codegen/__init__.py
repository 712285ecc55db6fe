"""slogen: compile Sloth-compatible SLO specs into Prometheus rules, promtool tests, dashboards and docs.

The compiler is a straight line: ``loader`` reads YAML with line numbers, ``parse`` validates it into the frozen
``model``, renderers are pure functions of that model, and ``writer`` puts files on disk atomically.
"""

__version__ = "0.1.0"
GENERATOR = f"slogen {__version__}"
