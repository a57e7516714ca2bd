/* The tiny test model (tests/data/codegen_tiny) written in C++: the API every backend's codegen
 * provides, with C linkage for the C harness. */
#ifndef MCUORCH_MODEL_H
#define MCUORCH_MODEL_H

#include <stddef.h>
#include <stdint.h>

#define MCUORCH_NUM_INPUTS 2
#define MCUORCH_NUM_OUTPUTS 2

#ifdef __cplusplus
extern "C" {
#endif

enum { MCUORCH_DTYPE_INT8 = 0, MCUORCH_DTYPE_UINT8 = 1, MCUORCH_DTYPE_INT16 = 2,
       MCUORCH_DTYPE_INT32 = 3, MCUORCH_DTYPE_FLOAT32 = 4 };

extern const int mcuorch_output_dtype[MCUORCH_NUM_OUTPUTS];

int mcuorch_model_init(void);
int mcuorch_model_invoke(void);
void *mcuorch_model_input(size_t i);
size_t mcuorch_model_input_bytes(size_t i);
const void *mcuorch_model_output(size_t i);
size_t mcuorch_model_output_bytes(size_t i);

#ifdef __cplusplus
}
#endif

#endif
