// Precompiled header of the host build (CMakeLists.txt): parsing these is most of the build of
// each TFLite-Micro file, so precompiled the files build about three times faster.
#include "tensorflow/lite/c/builtin_op_data.h"
#include "tensorflow/lite/kernels/internal/common.h"
#include "tensorflow/lite/kernels/internal/quantization_util.h"
#include "tensorflow/lite/kernels/kernel_util.h"
#include "tensorflow/lite/micro/kernels/kernel_util.h"
