// The tiny int8 model of tests/data/codegen_tiny in C++ (same weights, same golden vectors):
// h = relu(dense(concat(x0, x1); W1, b1)), y = dense(h; W2, b2). It uses what generated C++
// code relies on: virtual calls and destructors, a static object with a constructor (run by
// the start-up code), placement new into static storage, operator new/delete, std::array,
// std::min and std::numeric_limits.
#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <limits>
#include <new>

#include "kernels.h"
#include "mcuorch_model.h"
#include "tiny_weights.h"

using tiny::DenseParams;
using tiny::Layer;

extern "C" const int mcuorch_output_dtype[MCUORCH_NUM_OUTPUTS] = {MCUORCH_DTYPE_INT8, MCUORCH_DTYPE_INT8};

namespace {

class Dense final : public Layer {
  public:
    explicit Dense(const DenseParams &params) : params_(params) {}
    ~Dense() override { ++destroyed; }
    void run(const std::int8_t *x, std::int8_t *y) const override { tiny::dense(params_, x, y); }
    static int destroyed;  // destructor calls so far

  private:
    DenseParams params_;
};

int Dense::destroyed = 0;

constexpr std::int32_t kInt8Min = std::numeric_limits<std::int8_t>::min();
constexpr std::int32_t kInt8Max = std::numeric_limits<std::int8_t>::max();

// Built by its constructor before main(): the model fails to initialise if that did not run.
struct LayerTable {
    LayerTable()
        : params{{DenseParams{W1, B1, IN0_SIZE + IN1_SIZE, HIDDEN_SIZE, IN_ZP, M1, S1, H_ZP, H_ZP, kInt8Max},
                  DenseParams{W2, B2, HIDDEN_SIZE, OUT_SIZE, H_ZP, M2, S2, OUT_ZP, kInt8Min, kInt8Max}}},
          ready(true)
    {
    }
    std::array<DenseParams, 2> params;
    bool ready;
};

LayerTable table;

alignas(Dense) unsigned char storage[2][sizeof(Dense)];
std::array<Layer *, 2> layers{};

std::array<std::int8_t, IN0_SIZE> in0;
std::array<std::int8_t, IN1_SIZE> in1;
std::array<std::int8_t, HIDDEN_SIZE> hidden;
std::array<std::int8_t, OUT_SIZE> out;

template <typename Array>
void *address(Array &array) { return static_cast<void *>(array.data()); }

}  // namespace

extern "C" int mcuorch_model_init(void)
{
    if (!table.ready)
        return 2;  // static constructors did not run
    // One layer on the heap, destroyed through the base class: the virtual destructor runs.
    int before = Dense::destroyed;
    Layer *probe = new Dense(table.params[1]);
    delete probe;
    if (Dense::destroyed != before + 1)
        return 3;
    for (std::size_t i = 0; i < layers.size(); i++) {
        if (layers[i] != nullptr)
            layers[i]->~Layer();
        layers[i] = new (storage[i]) Dense(table.params[i]);
    }
    hidden.fill(0);
    out.fill(0);
    return 0;
}

extern "C" int mcuorch_model_invoke(void)
{
    if (layers[0] == nullptr)
        return 1;
    std::array<std::int8_t, IN0_SIZE + IN1_SIZE> x;
    std::memcpy(x.data(), in0.data(), in0.size());
    std::memcpy(x.data() + in0.size(), in1.data(), std::min(in1.size(), x.size() - in0.size()));
    layers[0]->run(x.data(), hidden.data());
    layers[1]->run(hidden.data(), out.data());
    return 0;
}

extern "C" void *mcuorch_model_input(size_t i)
{
    return i == 0 ? address(in0) : i == 1 ? address(in1) : nullptr;
}

extern "C" size_t mcuorch_model_input_bytes(size_t i)
{
    return i == 0 ? in0.size() : i == 1 ? in1.size() : 0;
}

extern "C" const void *mcuorch_model_output(size_t i)
{
    return i == 0 ? address(hidden) : i == 1 ? address(out) : nullptr;
}

extern "C" size_t mcuorch_model_output_bytes(size_t i)
{
    return i == 0 ? hidden.size() : i == 1 ? out.size() : 0;
}
