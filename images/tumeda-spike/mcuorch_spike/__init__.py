"""The RUN stage on Spike: mcuorch-spike-run."""
