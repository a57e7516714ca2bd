"""Per-kernel instruction profiles (`-f profile`): the plugin's segments → layers → a Chrome
trace, a per-layer table, report columns and a chart."""
