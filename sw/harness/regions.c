/*
 * Each marker stores a distinct value so that no two markers have identical bodies: with
 * noipa the compiler may neither inline nor merge them (identical-code folding would give two
 * markers one address), so every marker keeps its own address in the ELF.
 */
#include "regions.h"

#include <stdint.h>

/* Current region, readable in a debugger: 1 setup, 2 run, 0 outside. */
volatile uint32_t mcuorch_region_state;

#define MCUORCH_MARKER __attribute__((noipa, used))

MCUORCH_MARKER void mcuorch_setup_begin(void) { mcuorch_region_state = 1u; }
MCUORCH_MARKER void mcuorch_setup_end(void) { mcuorch_region_state = 0x10u; }
MCUORCH_MARKER void mcuorch_run_begin(void) { mcuorch_region_state = 2u; }
MCUORCH_MARKER void mcuorch_run_end(void) { mcuorch_region_state = 0x20u; }
