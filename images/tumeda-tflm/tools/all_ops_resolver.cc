// tflite::AllOpsResolver for tflite_micro_compiler: TFLite-Micro no longer has one, so the port
// (patches/) only declares it and each host build defines it with every builtin op of the tree.
#include "CustomOperators.h"

#define MCUORCH_ADD_OP(method)
#include "all_ops.inc"
#undef MCUORCH_ADD_OP

static_assert(MCUORCH_ALL_OPS_COUNT <= 256, "AllOpsResolver (the port's) holds 256 ops");

tflite::AllOpsResolver::AllOpsResolver() {
#define MCUORCH_ADD_OP(method) method();
#include "all_ops.inc"
#undef MCUORCH_ADD_OP
}
