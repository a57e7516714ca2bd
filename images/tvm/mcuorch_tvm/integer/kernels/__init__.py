"""Integer kernel generators, one module per operator family (TIR built in Python)."""
