"""TFLite-Micro backend (tflmi): the image-side code generator."""
