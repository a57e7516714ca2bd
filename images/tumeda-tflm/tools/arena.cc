// mcuorch-tflm-arena MODEL.tflite: allocates the model in TFLite-Micro's interpreter with every
// builtin op registered and prints the arena bytes it used, as JSON. The backend sizes a run's
// arena from it; exit 2 with one "error:" line when the model cannot be allocated.
#include <cstdio>
#include <cstdlib>
#include <vector>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

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

// TFLite-Micro can crash instead of failing when an arena is too small (a null temporary
// tensor during Prepare), so every smaller probe runs in a child process.
template <typename Resolver>
bool allocates_in_child(const tflite::Model* model, const Resolver& resolver, uint8_t* arena, size_t bytes) {
  std::fflush(nullptr);
  pid_t child = fork();
  if (child == 0) {
    int quiet = open("/dev/null", O_WRONLY);
    if (quiet >= 0) dup2(quiet, 2);
    tflite::MicroInterpreter interpreter(model, resolver, arena, bytes);
    _exit(interpreter.AllocateTensors() == kTfLiteOk ? 0 : 1);
  }
  int status = 0;
  return child > 0 && waitpid(child, &status, 0) == child && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

template <typename Resolver>
bool allocates(const tflite::Model* model, const Resolver& resolver, uint8_t* arena, size_t bytes,
               size_t* used, size_t* inputs, size_t* outputs) {
  tflite::MicroInterpreter interpreter(model, resolver, arena, bytes);
  if (interpreter.AllocateTensors() != kTfLiteOk) return false;
  if (used != nullptr) *used = interpreter.arena_used_bytes();
  if (inputs != nullptr) *inputs = interpreter.inputs_size();
  if (outputs != nullptr) *outputs = interpreter.outputs_size();
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
  size_t used = 0, inputs = 0, outputs = 0;
  if (!allocates(model, resolver, aligned, kProbeArenaBytes, &used, &inputs, &outputs)) {
    std::fprintf(stderr, "error: TFLite-Micro cannot allocate the model's tensors\n");
    return 2;
  }
  // arena_used_bytes() is what stays allocated; allocation itself briefly needs more (temporary
  // tensors while kernels prepare). The smallest arena that allocates, to 16 bytes:
  size_t fits = used;
  while (!allocates_in_child(model, resolver, aligned, fits)) fits *= 2;
  size_t fails = fits == used ? 0 : fits / 2;
  while (fits - fails > 16) {
    size_t mid = (fails + (fits - fails) / 2) / 16 * 16;
    if (mid <= fails) break;
    if (allocates_in_child(model, resolver, aligned, mid)) fits = mid; else fails = mid;
  }
  std::printf("{\"arena_used_bytes\": %zu, \"arena_min_bytes\": %zu, \"inputs\": %zu, \"outputs\": %zu}\n",
              used, fits, inputs, outputs);
  return 0;
}
