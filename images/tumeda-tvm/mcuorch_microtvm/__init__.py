"""Image-side code of the microTVM backends (tvmaot, tvmaotplus, tvmrt, tvmllvm): tvmc of the
TVM fork compiles the model to a model library format (MLF) archive, and this package turns it
into the codegen directory the target software builds (mcuorch_model.h + C sources)."""
