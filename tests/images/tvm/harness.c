/* Test harness for generated tvmaot code: run one inference on raw input files.
 * usage: harness IN_0 .. IN_{n-1} OUT_0 .. OUT_{m-1}
 * Reads each input's exact byte size, invokes, writes each output's bytes. */
#include <stdio.h>
#include <string.h>
#include "mcuorch_model.h"

static int read_exact(const char *path, void *dst, size_t n) {
  FILE *f = fopen(path, "rb");
  size_t got;
  int extra;
  if (!f) return 1;
  got = fread(dst, 1, n, f);
  extra = fgetc(f);
  fclose(f);
  return got != n || extra != EOF;
}

int main(int argc, char **argv) {
  size_t i;
  if (argc != 1 + MCUORCH_NUM_INPUTS + MCUORCH_NUM_OUTPUTS) {
    fprintf(stderr, "usage: %s %d inputs %d outputs\n", argv[0], MCUORCH_NUM_INPUTS, MCUORCH_NUM_OUTPUTS);
    return 2;
  }
  if (mcuorch_model_init() != 0) return 3;
  for (i = 0; i < MCUORCH_NUM_INPUTS; ++i) {
    if (read_exact(argv[1 + i], mcuorch_model_input(i), mcuorch_model_input_bytes(i))) {
      fprintf(stderr, "input %u: wrong size or unreadable\n", (unsigned)i);
      return 4;
    }
  }
  if (mcuorch_model_invoke() != 0) return 5;
  for (i = 0; i < MCUORCH_NUM_OUTPUTS; ++i) {
    FILE *f = fopen(argv[1 + MCUORCH_NUM_INPUTS + i], "wb");
    if (!f) return 6;
    fwrite(mcuorch_model_output(i), 1, mcuorch_model_output_bytes(i), f);
    fclose(f);
  }
  return 0;
}
