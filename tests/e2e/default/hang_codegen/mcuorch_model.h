/* A one-byte-in, one-byte-out "model" whose invoke never returns: the end-to-end tests use it
   to check that a RUN that never exits is killed at its timeout. */
#ifndef MCUORCH_MODEL_H
#define MCUORCH_MODEL_H
#include <stddef.h>
#include <stdint.h>
#define MCUORCH_NUM_INPUTS 1
#define MCUORCH_NUM_OUTPUTS 1
enum { MCUORCH_DTYPE_INT8 = 0, MCUORCH_DTYPE_UINT8 = 1, MCUORCH_DTYPE_INT16 = 2,
       MCUORCH_DTYPE_INT32 = 3, MCUORCH_DTYPE_FLOAT32 = 4 };
extern const int mcuorch_output_dtype[MCUORCH_NUM_OUTPUTS];
int mcuorch_model_init(void);
int mcuorch_model_invoke(void);
void *mcuorch_model_input(size_t i);
size_t mcuorch_model_input_bytes(size_t i);
const void *mcuorch_model_output(size_t i);
size_t mcuorch_model_output_bytes(size_t i);
#endif
