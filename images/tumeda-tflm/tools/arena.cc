// mcuorch-tflm-arena MODEL.tflite: allocates the model in TFLite-Micro's interpreter with every
// builtin op registered and prints the arena bytes it used, as JSON. The backend sizes a run's
// arena from it; exit 2 with one "error:" line when the model cannot be allocated.
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "tensorflow/lite/micro/micro_interpreter.h"
#include "tensorflow/lite/micro/micro_mutable_op_resolver.h"
#include "tensorflow/lite/schema/schema_generated.h"

#define MCUORCH_ADD_OP(method)
#include "all_ops.inc"
#undef MCUORCH_ADD_OP

namespace {

constexpr size_t kProbeArenaBytes = 256u << 20;

bool read_file(const char* path, std::vector<unsigned char>& out) {
  FILE* f = std::fopen(path, "rb");
  if (f == nullptr) return false;
  unsigned char chunk[65536];
  size_t n;
  while ((n = std::fread(chunk, 1, sizeof chunk, f)) > 0) out.insert(out.end(), chunk, chunk + n);
  std::fclose(f);
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s MODEL.tflite\n", argv[0]);
    return 2;
  }
  // 16-byte aligned copy: flatbuffers and the interpreter expect aligned model data.
  std::vector<unsigned char> bytes;
  if (!read_file(argv[1], bytes)) {
    std::fprintf(stderr, "error: cannot read %s\n", argv[1]);
    return 2;
  }
  std::vector<unsigned char> model_buf(bytes.size() + 16);
  unsigned char* model_data = model_buf.data() + (16 - reinterpret_cast<uintptr_t>(model_buf.data()) % 16) % 16;
  std::copy(bytes.begin(), bytes.end(), model_data);
  const tflite::Model* model = tflite::GetModel(model_data);

  static tflite::MicroMutableOpResolver<MCUORCH_ALL_OPS_COUNT> resolver;
#define MCUORCH_ADD_OP(method) resolver.method();
#include "all_ops.inc"
#undef MCUORCH_ADD_OP

  std::vector<uint8_t> arena(kProbeArenaBytes + 16);
  uint8_t* aligned = arena.data() + (16 - reinterpret_cast<uintptr_t>(arena.data()) % 16) % 16;
  tflite::MicroInterpreter interpreter(model, resolver, aligned, kProbeArenaBytes);
  if (interpreter.AllocateTensors() != kTfLiteOk) {
    std::fprintf(stderr, "error: TFLite-Micro cannot allocate the model's tensors\n");
    return 2;
  }
  std::printf("{\"arena_used_bytes\": %zu, \"inputs\": %zu, \"outputs\": %zu}\n",
              interpreter.arena_used_bytes(), interpreter.inputs_size(), interpreter.outputs_size());
  return 0;
}
