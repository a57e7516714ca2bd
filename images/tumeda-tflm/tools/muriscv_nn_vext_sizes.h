/* Prelude (-include) of muRISCV-NN's *_get_buffer_sizes*.c for its vector flavour: the host has
 * no riscv_vector.h, so the headers are read first without USE_VEXT (their include guards keep
 * them out afterwards) and only the size functions, plain arithmetic, see it. */
#include "Internal/muriscv_nn_compiler.h"
#include "muriscv_nn_functions.h"
#include "muriscv_nn_support_functions.h"
#define USE_VEXT 1
