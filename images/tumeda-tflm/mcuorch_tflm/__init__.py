"""TFLite-Micro backends (tflmi, tflmc): the image-side code generators."""
