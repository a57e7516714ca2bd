"""Code of the `tflite` toolchain image: the int8 TFLite model builder, the bundled-model
generator and the LOAD stage (`mcuorch-load`)."""
