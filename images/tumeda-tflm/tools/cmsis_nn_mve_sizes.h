/* Prelude (-include) of CMSIS-NN's *_get_buffer_sizes*.c for the MVE flavour: the host has no
 * arm_mve.h, so the headers are read first without ARM_MATH_MVEI (their include guards keep them
 * out afterwards) and only the size functions, plain arithmetic, see it. */
#include "Internal/arm_nn_compiler.h"
#include "arm_nnfunctions.h"
#include "arm_nnsupportfunctions.h"
#define ARM_MATH_MVEI 1
