"""The RUN stage on ETISS: mcuorch-etiss-run."""
