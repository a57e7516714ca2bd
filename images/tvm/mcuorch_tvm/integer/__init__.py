"""Integer kernels for ``tvmaot``: bit-exact with TFLite-Micro, no float, register-blocked loops.

Entry point: :func:`mcuorch_tvm.integer.lower.lower_to_kernels`, a drop-in for
``mcuorch_tvm.compiler.lower_to_kernels`` (``--kernels int``). It reads the ``.tflite`` itself
(:mod:`.model`), emits one hand-scheduled TIR PrimFunc per operator (:mod:`.kernels`) and wraps
them in a Relax ``main`` of ``call_tir`` bindings with inline constants (:mod:`.program`), so
graph extraction, arena planning and C emission are the float path's, unchanged.

Design note
===========

Rounding. The pinned ``tflite-micro`` wheel is built without ``TFLITE_SINGLE_ROUNDING``: its
``MultiplyByQuantizedMultiplier`` is gemmlowp's double rounding, i.e.
``RoundingDivideByPOT(SaturatingRoundingDoublingHighMul(x << left, M), right)``. The first
step equals ``floor((x*M + 2^30) / 2^31)`` (ties toward +inf), the second rounds half away
from zero. Multipliers/shifts are derived in double precision exactly as the wheel's Prepare
functions do (:mod:`.quant`, :mod:`.fixedpoint`): conv/FC per channel
``in_scale*w_scale/out_scale``; ADD via the 2^20 common domain; MEAN with the element count
folded into the multiplier (the wheel's integer ``QuantizedMeanOrSum``); SOFTMAX is the
gemmlowp fixed-point exp/reciprocal algorithm (the wheel's int8 path uses no LUT); average
pooling rounds ``(acc +- n/2) / n`` over valid taps. Activation bounds use float32 ``roundf``
like ``CalculateActivationRangeQuantized``.

Zero points. The input offset is folded at build time into ``bias' = bias - zp_in*sum(w)``
(exact in int32), so interior MACs are plain ``w*x``. Border pixels of padded convolutions
add ``zp_in*w`` for padded taps (CONV_2D), or restore the raw bias once per channel and
accumulate ``w*(x - zp_in)`` over valid taps only (DEPTHWISE, guarded path). The output zero
point and the activation clamp are immediates. Weight zero points must be 0 (int8 TFLite).

No implementation-defined C. Right shifts of possibly negative values are written
``x >= 0 ? x >> n : ~(~x >> n)`` (GCC folds it to one ``sra``); rounding uses gemmlowp's
mask/threshold form unless the build proves ``|acc| < 2^30`` (then ``(x + 2^(n-1) - (x<0)) >> n``
cannot overflow); int32 products are formed in int64 only for the multiply-high; left shifts
wrap through int64. No float operation and no libm call is generated.

Schedules (choices measured with instruction counts on QEMU rv32gc, GCC 12 -O2):

* CONV_2D: ``pixels x block`` register blocks (chosen per layer, e.g. 5x3 on 5-wide rows,
  4x4 on wide ones; blocks dividing the channel count avoid a second code copy), weights
  reordered to ``[block][kh][kw][ic][channel]`` for sequential loads, the ``kw*ic`` taps of a
  kernel row walked as one contiguous run, padding handled outside the reduction (interior
  rows/columns unguarded, border and leftover pixels on one guarded path). Requantization is a
  loop over the block with each channel's multiplier/shift loaded once. ~2.9 instructions per
  MAC in the inner loop, 3.3/MAC for a whole 1x1 layer, 3.1-4.4/MAC for 3x3 layers.
* DEPTHWISE_CONV_2D: channel-outer; the channel's taps, bias, multiplier and shift live in a
  local array (registers); with padding the channel plane is copied into a zero-point padded
  stack buffer (<= 1 KiB, else a guarded border path) so every pixel runs unrolled taps with
  no test. ~6.4 instructions per MAC for 3x3 (9 MACs per requantization).
* FULLY_CONNECTED: output blocks of 4, sequential ``[block][k][channel]`` weights, ~3.9/MAC.
* ADD, pools, MEAN, PAD, SOFTMAX: straightforward loops (not MAC-bound); SOFTMAX keeps one copy
  of exp (a pass loop) and loops over its barrel-shifter table for code size.

Operators beyond the MAC-bound ones (:mod:`.lower_ops`). A per-element operator of one int8
input has only 256 possible inputs: RELU, RELU6, LEAKY_RELU, LOGISTIC, TANH, HARD_SWISH and
int8 requantization are tables computed at build time by :mod:`.lut` with the reference
kernels' own integer arithmetic (gemmlowp logistic/tanh in Q4.27, HARD_SWISH's int16 helpers),
so the kernel is one load per element. MUL, SUB, MAXIMUM and MINIMUM are integer loops with
broadcasting; the shape operators are copies (TFLite-Micro copies raw values, whatever the
quantization). QUANTIZE/DEQUANTIZE at the graph boundary are the only float arithmetic: one
float32 division and a libm-free round-half-away (quantize), one float32 multiply
(dequantize, exact because ``double(scale) * (q - zp)`` needs fewer than 53 bits).
int16 (TFLite's 16x8 scheme): ADD/SUB in a 2^15 common domain, MUL, FULLY_CONNECTED, CONV_2D and
DEPTHWISE_CONV_2D with an int64 bias and the int64 ``MultiplyByQuantizedMultiplier`` (15-bit
multiplier; reference loops, not scheduled), SOFTMAX through TFLite-Micro's interpolated int16
tables (:mod:`.lut16`), conversions, copies.

SIMD schedules (``--isa``, :mod:`.isa`, :mod:`.simd`; instruction counts on QEMU, GCC 12 -O2,
keyword spotting). The ISA is a generation-time choice: it changes blocking and weight layouts,
which a preprocessor switch alone could not. What is emitted stays portable: the kernels call
``static inline`` helpers (``T.call_extern``) whose intrinsic code is under the compiler's
feature macro, with the scalar loop as fallback, so the same C is exact everywhere.

* Cortex-M4 DSP (``+dsp``): CONV_2D and FULLY_CONNECTED reduce with ``SMLAD`` on ``SXTB16``
  halves, 1 pixel x 4 channels, weights ``[block][kh][channel][kw*ic]`` so a channel's kernel
  row is one run; border pixels dot the valid columns against the input and the padded ones
  against a row of input zero points (1.56/MAC in the 1x1 inner loop). DEPTHWISE on its
  padded plane takes a kernel row 4 bytes at a time against int16 weight pairs (2 ``SMLAD``).
  Requantization with ``|acc| < 2^30``: ``SMMULR(2*acc, m)`` is the doubling high multiply.
  aww 10.30M -> 6.40M.
* Every ISA: a CONV_2D whose padded input is small (<= 1 KiB: first layers on 1-3 channels) is
  copied into a zero-point plane, so no pixel takes the guarded path; kernel rows of <= 8
  taps of a larger-than-1x1 window are unrolled; with |acc| < 2^30 the doubling high multiply
  is the high word of 2x*m plus one carry bit (aww rv32gc 10.69M -> 9.92M). A 1x1 stride-1
  CONV_2D sweeps its image as one row (register blocks across row ends), and the kernels file
  turns GCC's pre-allocation scheduler off (it spilled the 4x4 block's accumulators): aww
  rv32gc 9.14M, 2.69 instructions per MAC in the pointwise inner loop.
* Cortex-M55 MVE (``+mve``): 1x1 CONV_2D per pixel, four ``VMLADAVA`` sums per 16-byte step
  (weights ``[OC/4][IC/16][4][16]``, one 64-byte run) turned into one vector, bias added and
  requantized on 4 lanes (0.32/MAC); DEPTHWISE per pixel on 8 channels, int16 products
  (``VMUL.S16``, two taps summed before widening when no weight is -128), widening splits
  even/odd channels so bias/multiplier/shift are stored permuted (2.3/MAC); CONV_2D with rows
  under 16 bytes (the 1-channel first layer) broadcasts each input byte (``VMLA`` by scalar)
  over 16 channels; other CONV_2D run the dot-product helper per kernel row. Vector
  requantization: ``VQRDMULH`` is SaturatingRoundingDoublingHighMul; ``VRSHL`` by -e after
  subtracting 1 from negative values (the sign of ``x & -e``) is RoundingDivideByPOT.
  aww 10.52M -> 1.58M.

Values read inside loops are kept in small local arrays rather than let-bindings: TVM may sink
a single-use binding into a loop, and an ``int8_t`` store may alias anything, so GCC would
reload it after every output byte.
"""
