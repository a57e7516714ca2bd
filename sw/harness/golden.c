/*
 * The table holds one (offset, size) pair per tensor, per vector first all inputs then all
 * outputs, offsets relative to mcuorch_golden_blob. Offsets instead of pointers keep the table
 * free of relocations, so it stays read-only on every target, PIE hosts included.
 */
#include "golden.h"

#include <stdint.h>

extern const unsigned char mcuorch_golden_blob[];
extern const uint32_t mcuorch_golden_table[];

#define MCUORCH_GOLDEN_PER_VECTOR (MCUORCH_GOLDEN_NUM_INPUTS + MCUORCH_GOLDEN_NUM_OUTPUTS)

static const void *entry(size_t slot, size_t *bytes)
{
    const uint32_t *pair = &mcuorch_golden_table[2u * slot];
    *bytes = pair[1];
    return mcuorch_golden_blob + pair[0];
}

const void *mcuorch_golden_input(size_t vector, size_t index, size_t *bytes)
{
    return entry(vector * MCUORCH_GOLDEN_PER_VECTOR + index, bytes);
}

const void *mcuorch_golden_output(size_t vector, size_t index, size_t *bytes)
{
    return entry(vector * MCUORCH_GOLDEN_PER_VECTOR + MCUORCH_GOLDEN_NUM_INPUTS + index, bytes);
}
