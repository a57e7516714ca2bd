"""Code of the `host` image: runs host_x86 programs natively (standard library only)."""
