"""SLO plugins: the chain that turns one SLO into its plan (Sloth's ``prometheus/slo/v1`` plugins, in Python)."""
