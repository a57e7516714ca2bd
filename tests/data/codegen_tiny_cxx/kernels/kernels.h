// Kernels of the tiny C++ test model, built as a static library by ../mcuorch.cmake.
#ifndef TINY_KERNELS_H
#define TINY_KERNELS_H

#include <cstdint>

namespace tiny {

struct DenseParams {
    const std::int8_t *weights;
    const std::int32_t *bias;
    int n_in, n_out;
    std::int32_t x_zero_point, multiplier;
    int shift;
    std::int32_t y_zero_point, lo, hi;
};

// y = clamp(requantize(W x + b) + y_zp, lo, hi) with TFLite's fixed-point requantization.
void dense(const DenseParams &p, const std::int8_t *x, std::int8_t *y);

// Base class of the model's layers. Constructor and destructor are defined in the library
// (not inlined into the model), so its vtable, with __cxa_pure_virtual in the slot of run,
// is linked from there.
class Layer {
  public:
    Layer();
    virtual ~Layer();
    virtual void run(const std::int8_t *x, std::int8_t *y) const = 0;
    Layer(const Layer &) = delete;
    Layer &operator=(const Layer &) = delete;
};

}  // namespace tiny

#endif
