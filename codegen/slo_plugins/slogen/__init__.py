"""slogen's own SLO plugins (``slogen.dev/...``): what slogen adds to Sloth's output, as steps of the same chain.

``--sloth-compat`` runs the chain without ``nan_safe_sli``, ``alert_routing`` and ``no_data_alert``;
``timeslice_sli`` stays (it is what makes the timeslice SLI type work; Sloth has no such type).
"""
