/* Access to the golden vectors that sw/cmake/golden.cmake embedded into .mcuorch_golden. */
#ifndef MCUORCH_GOLDEN_H
#define MCUORCH_GOLDEN_H

#include <stddef.h>

#include "mcuorch_golden_config.h"

/* Bytes of golden input/output tensor `index` of vector `vector`; size in *bytes. */
const void *mcuorch_golden_input(size_t vector, size_t index, size_t *bytes);
const void *mcuorch_golden_output(size_t vector, size_t index, size_t *bytes);

#endif
