#include "kernels.h"

#include <algorithm>
#include <cstdint>
#include <limits>

namespace tiny {

namespace {

std::int32_t srdhm(std::int32_t a, std::int32_t b)
{
    constexpr std::int32_t min = std::numeric_limits<std::int32_t>::min();
    if (a == b && a == min)
        return std::numeric_limits<std::int32_t>::max();
    std::int64_t ab = static_cast<std::int64_t>(a) * static_cast<std::int64_t>(b);
    std::int64_t nudge = ab >= 0 ? (1ll << 30) : (1 - (1ll << 30));
    return static_cast<std::int32_t>((ab + nudge) / (1ll << 31));
}

std::int32_t rounding_divide_by_pot(std::int32_t x, int exponent)
{
    auto mask = static_cast<std::int32_t>((1ll << exponent) - 1);
    std::int32_t remainder = x & mask;
    std::int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

std::int32_t requantize(std::int32_t acc, std::int32_t multiplier, int shift)
{
    int left = std::max(shift, 0);
    int right = std::max(-shift, 0);
    return rounding_divide_by_pot(srdhm(acc * (1 << left), multiplier), right);
}

}  // namespace

void dense(const DenseParams &p, const std::int8_t *x, std::int8_t *y)
{
    for (int o = 0; o < p.n_out; o++) {
        std::int32_t acc = p.bias[o];
        for (int i = 0; i < p.n_in; i++)
            acc += static_cast<std::int32_t>(p.weights[o * p.n_in + i]) * (x[i] - p.x_zero_point);
        std::int32_t v = requantize(acc, p.multiplier, p.shift) + p.y_zero_point;
        y[o] = static_cast<std::int8_t>(std::min(std::max(v, p.lo), p.hi));
    }
}

Layer::Layer() = default;
Layer::~Layer() = default;

}  // namespace tiny
