"""`make snapshot`: the generated dashboards rendered from a running Prometheus into PNGs, as Grafana lays them out.

Grafana cannot run on these machines, yet the README should show what on-call sees. This package runs every
panel's queries (variables expanded as Grafana does, see stack.dashboards) over a time range, draws each panel
as inline SVG/HTML at its gridPos (24 columns, 30 px rows, 8 px gaps: Grafana's grid), and has headless
Chromium screenshot the page: one PNG per dashboard.

The drawing follows the panel JSON, not a guess: units and decimals, min/max, thresholds (lines, stat colours,
gauge markers), value mappings (UP/DOWN), stacking, fill opacity, legends from legendFormat, the table's
hidden columns. It is a picture, not Grafana: no tooltips, no interactions, a fixed dark theme.

    python -m stack.snapshot [--prometheus URL] [--minutes 30] [--out docs/img] [--dashboards dashboards]
"""

from stack.snapshot.chromium import SnapshotError
from stack.snapshot.cli import SnapshotResult, snapshot_dashboard
from stack.snapshot.data import TimeRange

__all__ = ["SnapshotError", "SnapshotResult", "TimeRange", "snapshot_dashboard"]
