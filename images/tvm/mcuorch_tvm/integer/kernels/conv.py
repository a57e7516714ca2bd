"""CONV_2D and DEPTHWISE_CONV_2D (NHWC int8, per-channel requantization).

CONV_2D schedule (``ConvSchedule``):

* output channels in register blocks of ``block`` (weights reordered at build time to
  ``[block][kh][kw][ic][channel]`` so each block streams them sequentially), ``pixels``
  neighbouring output pixels share every weight load (``pixels x block`` accumulators);
* the input offset is folded into the bias; the window of an *interior* pixel lies fully
  inside the input, so its reduction has no test at all, and the taps of one kernel row are
  contiguous in NHWC memory (``kw`` and ``ic`` merge into one run of ``KW*IC`` bytes);
* only border pixels (those whose window crosses the padding) take the guarded path: one
  test per kernel row and column, padded taps contribute ``zp_in * w`` (exactly what TFLite's
  skipped taps amount to once the offset is folded).

DEPTHWISE_CONV_2D schedule (``DepthwiseSchedule``): channel-outer. A channel's ``KH*KW``
weights, bias, multiplier and shift are loaded once into locals (registers) and the whole
output plane of that channel is swept with fully unrolled taps; again only border pixels test
bounds.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from .. import simd as S
from .. import tir as K
from ..isa import GENERIC, Isa
from ..tir import RequantStage
from .common import (Kernel, block_rows, block_weights, output_args, requant_args, unrolled_range, weighted_buffers,
                     weighted_signature)


@dataclass(frozen=True)
class ConvSchedule:
    """Register blocking of CONV_2D; 0 = chosen per layer by :func:`choose_blocking`."""

    block: int = 0
    pixels: int = 0
    unroll: int = 1
    max_accumulators: int = 16   # P*B accumulators, plus P inputs and B weights, fit 31 GPRs
    isa: Isa = GENERIC
    #: SIMD schedules: largest zero-point row (bytes of constant data after the weights) that
    #: lets border pixels use the dot-product helper too; wider rows take the scalar guarded path.
    max_zero_row: int = 1024
    #: MVE: kernel rows shorter than this many bytes (``k_w * ic``, e.g. a first layer on 1-3
    #: input channels) vectorise over output channels instead of the row (VMLADAVA wants 16).
    mve_min_run: int = 16
    #: Largest zero-point padded copy of one input image (bytes, on the stack) that turns every
    #: border pixel into an interior one (first layers on 1-3 channels); 0 disables.
    max_plane_bytes: int = 1024
    #: Kernel rows of at most this many taps (``k_w * ic``) of a window larger than 1x1 are
    #: unrolled completely.
    unroll_short_row: int = 8
    #: Largest register block (P*B accumulators) of a convolution whose short rows are unrolled:
    #: every tap's operands are live at once (aww's 10x4 first layer on rv32gc: 5x2 instead of
    #: 5x3, 3.64 -> 3.52 instructions per MAC).
    short_row_accumulators: int = 10


def choose_blocking(width: int, channels: int, max_acc: int = 16) -> tuple[int, int]:
    """(pixels, block) minimising an instruction model of the inner loop on a 31-register ISA.

    Per reduction step a P x B block costs P + B loads, 2*P*B multiply-adds and ~3 loop
    instructions; pixels left over at the end of a row take the guarded path (~4.5/MAC).
    Blocks that divide the channel count are preferred unless another block is > 8 % cheaper
    (a tail block is a second copy of the code). Measured on rv32gc with GCC 12 -O2: 5x2 beats
    4x4 on 5-wide rows because the 4x4 leaves one pixel per row to the slow path.
    """
    def cost(p: int, b: int) -> float:
        def step(pp: int, bb: int) -> float:
            return (pp + bb + 3) / (pp * bb) + 2.0
        full, rem = divmod(max(width, 1), p)
        nb, tail = divmod(channels, b)
        blocked = (nb * b * step(p, b) + (tail * step(p, tail) if tail else 0)) / channels
        return (full * p * blocked + rem * 4.5) / max(width, 1)

    shapes = [(p, b) for p in range(1, 7) for b in range(1, 9) if p * b <= max_acc and p * b + p + b <= 24]
    best_any = min(shapes, key=lambda pb: (cost(*pb), pb))
    dividing = [pb for pb in shapes if channels % pb[1] == 0 or pb[1] >= channels]
    best_div = min(dividing, key=lambda pb: (cost(*pb), pb)) if dividing else best_any
    # A tail block is a second copy of the code: worth it only for a clear gain.
    return best_any if cost(*best_any) < 0.92 * cost(*best_div) else best_div


def choose_simd_blocking(width: int, channels: int, flavour: str | None = None) -> tuple[int, int]:
    """(pixels, block) of the SIMD schedules: one pixel (no leftover pixels on the guarded
    path, whatever the row width) times 4 channels when 4 divides the channel count, else the
    largest dividing block of 3 or 2 (fewer GPRs than 4 x 1: MVE's VMLADAVA accumulates into
    even registers only, the DSP loop keeps two halfword pairs per operand live). RVV keeps its
    sums in vector registers (one each): 8 channels share each input load."""
    for block in ((8, 4, 3, 2) if flavour == "rvv" else (4, 3, 2)):
        if channels % block == 0:
            return 1, block
    return 1, min(4, channels)


@dataclass(frozen=True)
class DepthwiseSchedule:
    """``max_plane_bytes``: largest zero-point-padded copy of one channel plane kept on the
    stack so every pixel takes the unguarded path (0 disables; larger planes use the guarded
    border path)."""

    max_register_taps: int = 25
    max_plane_bytes: int = 1024
    isa: Isa = GENERIC


@dataclass(frozen=True)
class Geometry:
    """Sizes of a 2-D window op; padding is (top, left) as TFLite computes it."""

    batches: int
    in_h: int
    in_w: int
    out_h: int
    out_w: int
    k_h: int
    k_w: int
    stride: tuple[int, int]
    dilation: tuple[int, int]
    pad: tuple[int, int]

    def interior(self, axis: int) -> tuple[int, int]:
        """[lo, hi) of output rows (axis 0) / columns (axis 1) whose window needs no padding."""
        size, out, k = (self.in_h, self.out_h, self.k_h) if axis == 0 else (self.in_w, self.out_w, self.k_w)
        s, d, p = self.stride[axis], self.dilation[axis], self.pad[axis]
        lo = -(-p // s)
        hi = (size - 1 + p - (k - 1) * d) // s + 1
        lo, hi = max(0, min(lo, out)), max(0, min(hi, out))
        return (lo, hi) if lo < hi else (0, 0)


def same_padding(in_size: int, k: int, stride: int, dilation: int) -> tuple[int, int]:
    """TFLite ``ComputePaddingHeightWidth`` for SAME: (output size, leading padding)."""
    out = -(-in_size // stride)
    eff = (k - 1) * dilation + 1
    total = max(0, (out - 1) * stride + eff - in_size)
    return out, total // 2


def valid_output(in_size: int, k: int, stride: int, dilation: int) -> int:
    eff = (k - 1) * dilation + 1
    return (in_size - eff + stride) // stride


def geometry(in_shape, out_shape, k_h: int, k_w: int, stride, dilation, padding: str) -> Geometry:
    n, h, w, _ = in_shape
    if padding == "SAME":
        oh, pt = same_padding(h, k_h, stride[0], dilation[0])
        ow, pl = same_padding(w, k_w, stride[1], dilation[1])
    else:
        oh, pt = valid_output(h, k_h, stride[0], dilation[0]), 0
        ow, pl = valid_output(w, k_w, stride[1], dilation[1]), 0
    if (oh, ow) != tuple(out_shape[1:3]):
        raise ValueError(f"output {tuple(out_shape)} does not match {padding} geometry ({oh}, {ow})")
    return Geometry(n, h, w, oh, ow, k_h, k_w, tuple(stride), tuple(dilation), (pt, pl))


def sweep(g: Geometry, pixels: int, pixel_group) -> None:
    """Visit every output pixel once through a single call site of
    ``pixel_group(n, oh, ow0, interior, npix)``: runs of ``pixels`` pixels whose windows need
    no padding (``interior`` true), every other pixel alone (``interior`` false, npix 1).

    One call site means one copy of the kernel body in C; the price is a test per pixel.
    """
    (r_lo, r_hi), (c_lo, c_hi) = g.interior(0), g.interior(1)
    runs = (c_hi - c_lo) // pixels
    end = c_lo + runs * pixels
    with K.serial(0, g.batches) as n:
        with K.serial(0, g.out_h) as oh:
            if (r_lo, r_hi, c_lo, end) == (0, g.out_h, 0, g.out_w):
                with K.serial(0, runs) as i:
                    pixel_group(n, oh, i * K.c32(pixels), True, K.c32(pixels))
            else:
                with K.serial(0, g.out_w) as ow:
                    conds = [oh >= K.c32(r_lo), oh < K.c32(r_hi), ow >= K.c32(c_lo), ow < K.c32(end)]
                    inside = K.bind(K.T.And(K.T.And(conds[0], conds[1]), K.T.And(conds[2], conds[3])))
                    aligned = K.T.truncmod(ow - K.c32(c_lo), K.c32(pixels)) == K.c32(0)
                    with K.If(K.T.Or(K.T.Not(inside), aligned)):
                        with K.Then():
                            npix = K.bind(K.T.Select(inside, K.c32(pixels), K.c32(1)))
                            pixel_group(n, oh, ow, inside, npix)


def sweep_pixels(g: Geometry, interior_pixel, guarded_pixel) -> None:
    """Depthwise flavour: one pixel at a time, interior pixels unguarded."""
    (r_lo, r_hi), (c_lo, c_hi) = g.interior(0), g.interior(1)
    with K.serial(0, g.batches) as n:
        with K.serial(0, g.out_h) as oh:
            with K.serial(0, g.out_w) as ow:
                conds = []
                if (r_lo, r_hi) != (0, g.out_h):
                    conds += [oh >= K.c32(r_lo), oh < K.c32(r_hi)]
                if (c_lo, c_hi) != (0, g.out_w):
                    conds += [ow >= K.c32(c_lo), ow < K.c32(c_hi)]
                if not conds:
                    interior_pixel(n, oh, ow, 1)
                elif c_hi <= c_lo or r_hi <= r_lo:
                    guarded_pixel(n, oh, ow)
                else:
                    inside = conds[0]
                    for cond in conds[1:]:
                        inside = K.T.And(inside, cond)
                    with K.If(inside):
                        with K.Then():
                            interior_pixel(n, oh, ow, 1)
                        with K.Else():
                            guarded_pixel(n, oh, ow)


# --------------------------------------------------------------------------- CONV_2D


def conv2d_kernel(name: str, in_shape, out_shape, weights: np.ndarray, bias: np.ndarray,
                  stage: RequantStage, g: Geometry, input_zero_point: int,
                  schedule: ConvSchedule = ConvSchedule()) -> Kernel:
    """``weights`` OHWI int8; ``bias`` folded (``b - zp_in * sum(w)``) int32 per channel."""
    oc, k_h, k_w, ic = weights.shape
    if schedule.isa.mve and k_w * ic < schedule.mve_min_run and oc % 4 == 0 and k_h * k_w * ic <= 128:
        # the whole window in <= 8 vectors: one VMLADAVA pass per output channel
        window = -(-k_h * k_w * ic // 16) * 16
        return vector_pixel_kernel(name, S.sized_name("mcuorch_mve_colconv", window), in_shape, out_shape,
                                   weights.reshape(oc, -1).astype(np.int8), bias, stage, g, input_zero_point,
                                   [oc, ic], oc * k_h * k_w * ic)
    if schedule.isa.mve and k_w * ic < schedule.mve_min_run and oc % 16 == 0 and k_h * k_w <= 64:
        packed = channel_vectors(weights.reshape(oc, k_h * k_w * ic), 16)
        return vector_pixel_kernel(name, "mcuorch_mve_chconv", in_shape, out_shape, packed, bias, stage, g,
                                input_zero_point, [oc, ic], oc * k_h * k_w * ic)
    # RVV: the output channels are the vector (one vwmacc per input byte and pass): fewer
    # instructions than the dot helper on rows of 16-64 channels, and a third of its kernel ROM
    if schedule.isa.rvv and k_h * k_w <= 64:
        packed = channel_vectors(weights.reshape(oc, k_h * k_w * ic), oc)  # [tap][oc]: one group
        return vector_pixel_kernel(name, "mcuorch_rvv_chconv", in_shape, out_shape, packed, bias, stage, g,
                                input_zero_point, [oc, ic], oc * k_h * k_w * ic)
    if schedule.isa.mve and (k_h, k_w) == (1, 1) and ic % 16 == 0 and oc % 4 == 0:
        return mve_pointwise_kernel(name, in_shape, out_shape, weights, bias, stage, g)
    if (k_h, k_w, g.stride, g.pad) == (1, 1, (1, 1), (0, 0)):
        g = as_one_row(g)
    # A small padded input (first layers) is copied into a zero-point plane once per image:
    # then every pixel is interior and the guarded path disappears.
    image = g
    plane_h = (g.out_h - 1) * g.stride[0] + (k_h - 1) * g.dilation[0] + 1
    plane_w = (g.out_w - 1) * g.stride[1] + (k_w - 1) * g.dilation[1] + 1
    bordered = (g.interior(0), g.interior(1)) != ((0, g.out_h), (0, g.out_w))
    use_plane = bordered and plane_h * plane_w * ic <= schedule.max_plane_bytes
    if use_plane:
        g = replace(g, batches=1, in_h=plane_h, in_w=plane_w, pad=(0, 0))
    lo, hi = g.interior(1)
    flavour = schedule.isa.simd
    # a short kernel row (first layers: 1-3 channels) of a k x k window is unrolled completely
    short_row = k_w * ic <= schedule.unroll_short_row and k_h * k_w > 1
    if flavour:
        auto_pixels, auto_block = choose_simd_blocking(hi - lo, oc, flavour)
    else:
        max_acc = schedule.max_accumulators
        if short_row and g.dilation[1] == 1:
            max_acc = min(max_acc, schedule.short_row_accumulators)
        auto_pixels, auto_block = choose_blocking(hi - lo, oc, max_acc)
    block = max(1, min(schedule.block or auto_block, oc))
    pixels = max(1, schedule.pixels or auto_pixels)
    taps = k_h * k_w * ic
    run = k_w * ic  # the taps of one kernel row: contiguous in NHWC input
    if flavour:
        # [block][kh][channel][kw*ic]: each channel's row of taps is one contiguous run
        packed = block_rows(weights.reshape(oc, k_h, run).astype(np.int8), block)
    else:
        packed = block_weights(weights.reshape(oc, taps).astype(np.int8), block)
    simd_border = bool(flavour) and not use_plane and dw_is_one(g) and run <= schedule.max_zero_row
    zero_at = packed.size
    if simd_border:  # padded taps read the input zero point (their contribution once the offset is folded)
        packed = with_zero_row(packed, run, input_zero_point)
    consts, params = weighted_signature(in_shape, out_shape, packed, bias, oc, stage)
    sh, sw = g.stride
    dh, dw = g.dilation
    pt, pl = g.pad
    y_base = [K.c32(0)]  # output offset of the image being swept (plane: one image at a time)
    with K.prim_func(name, params) as (ib, bufs):
        x_in = K.T.decl_buffer((int(np.prod(in_shape)),), K.I8, data=bufs[0].data)
        x = x_in
        if use_plane:
            x = K.local(plane_h * plane_w * ic, K.I8)
            with K.serial(0, plane_h * plane_w * ic) as i:
                K.store(x, K.T.Cast(K.I8, K.c32(input_zero_point)), [i])
        w, b = bufs[1], bufs[2]
        mult, shift = (bufs[3], bufs[4]) if stage.per_channel else (None, None)
        y = K.T.decl_buffer((int(np.prod(out_shape)),), K.I8, data=bufs[-1].data)
        acc = K.local(block * pixels)   # register block: constant indices only
        spill = K.local(block * pixels)  # handed to the (looped) requantization epilogue
        nfull, tail = divmod(oc, block)

        def w_index(w0, width, kh, j, r):
            """Weight of channel ``r`` of the block at ``w0``, kernel row ``kh``, tap ``j`` of the row."""
            if flavour:
                return w0 + kh * K.c32(width * run) + K.c32(r * run) + j
            return w0 + (kh * K.c32(run) + j) * K.c32(width) + K.c32(r)

        def channel_blocks(body) -> None:
            """body(c0, width, w0): full blocks in a loop, then the tail block."""
            if nfull:
                with K.serial(0, nfull) as cb:
                    body(cb * K.c32(block), block, cb * K.c32(block * taps))
            if tail:
                body(K.c32(nfull * block), tail, K.c32(nfull * block * taps))

        def epilogue(c0, width, npix, out_index) -> None:
            """Requantize ``npix x width`` accumulators with one copy of the requant code;
            a channel's multiplier/shift/rounding constant are loaded once for all pixels."""
            if pixels == 1 and (flavour == "rvv" or (flavour == "mve" and width <= 4)):  # vector lanes
                S.call(f"mcuorch_{flavour}_requant_store", K.T.address_of(y[out_index + c0]), K.T.address_of(acc[0]),
                       *requant_args(stage, mult, shift, c0), width, *output_args(stage))
                return
            for k in range(pixels * width):
                K.store(spill, acc[k], [k])
            with K.serial(0, width) as r:
                ch = K.bind(c0 + r)
                m = s = rnd = None
                if stage.per_channel:
                    regs = K.Hoisted(3)
                    m = regs.put(mult[ch])
                    s = regs.put(K.i32(shift[ch]))
                    if stage.short_rounding:
                        rnd = regs.put(K.c32(1) << (K.c32(-1) - s))
                with K.serial(0, npix) as p:
                    value = S.requantize(flavour, spill[p * K.c32(width) + r], stage, m, s, rnd)
                    K.store(y, K.T.Cast(K.I8, value), [out_index + ch + p * K.c32(oc)])

        def fast_reduction(n, oh, ow0, width, w0) -> None:
            """``pixels`` interior pixels from ``ow0``: no bounds test at all."""
            x_base = K.bind(((n * K.c32(g.in_h) + oh * K.c32(sh) - K.c32(pt)) * K.c32(g.in_w)
                             + ow0 * K.c32(sw) - K.c32(pl)) * K.c32(ic))
            if flavour and dw == 1:  # every kernel row in one call, accumulators in registers
                S.dot_rows(flavour, pixels, width, K.T.address_of(acc[0]), K.T.address_of(x[x_base]), sw * ic,
                           dh * g.in_w * ic, K.T.address_of(w[w0]), run, width * run, run, k_h,
                           short=flavour == "mve" and run <= S.MVE_SHORT_ROW)
                return
            if flavour:
                with K.serial(0, k_h) as kh:
                    x_row = K.bind(x_base + kh * K.c32(dh * g.in_w * ic))
                    w_row = K.bind(w0 + kh * K.c32(width * run))
                    with K.serial(0, k_w) as kw:  # dilated columns: a dot per tap
                        S.dot(flavour, pixels, width, K.T.address_of(acc[0]),
                              K.T.address_of(x[x_row + kw * K.c32(dw * ic)]), sw * ic,
                              K.T.address_of(w[w_row + kw * K.c32(ic)]), run, ic)
                return
            with K.serial(0, k_h) as kh:
                x_row = K.bind(x_base + kh * K.c32(dh * g.in_w * ic))
                w_row = K.bind(w0 + kh * K.c32(k_w * ic * width))

                def tap(j, x_off=None):
                    wv = [K.bind(K.i32(w[w_row + j * K.c32(width) + K.c32(r)])) for r in range(width)]
                    for p in range(pixels):
                        xi = x_row + (j if x_off is None else x_off) + K.c32(p * sw * ic)
                        xv = K.bind(K.i32(x[xi]))
                        for r in range(width):
                            K.store(acc, acc[p * width + r] + xv * wv[r], [p * width + r])

                if dw == 1:
                    # no loop per short kernel row (measured: a 1x1 layer on 8 channels is faster
                    # with its loop, hence k x k windows only)
                    unrolled_range(run, run if short_row else schedule.unroll, tap)
                else:
                    with K.serial(0, k_w) as kw:
                        def tap_d(i, kw=kw):
                            tap(kw * K.c32(ic) + i, kw * K.c32(dw * ic) + i)
                        unrolled_range(ic, schedule.unroll, tap_d)

        def simd_border_reduction(n, oh, ow, width, w0) -> None:
            """One pixel anywhere (dilation 1): per kernel row, the valid columns are one run
            of the input and the padded ones two runs of the zero-point row."""
            ih0 = K.bind(oh * K.c32(sh) - K.c32(pt))
            iw0 = K.bind(ow * K.c32(sw) - K.c32(pl))
            kw_lo = K.bind(K.T.max(K.c32(0), K.c32(0) - iw0))
            kw_hi = K.bind(K.T.max(kw_lo, K.T.min(K.c32(k_w), K.c32(g.in_w) - iw0)))
            lo_n = K.bind(kw_lo * K.c32(ic))
            hi_j = K.bind(kw_hi * K.c32(ic))
            acc0, zero = K.T.address_of(acc[0]), K.T.address_of(w[zero_at])

            # the DSP's border dot is a call (one shared copy, simd.py), skipped for a row
            # without padded columns; MVE's is inlined, where the test only costs (measured)
            called = flavour == "dsp"

            def border_dot(x_at, w_at, n, any_taps=None) -> None:
                if any_taps is None or not called:
                    S.dot(flavour, 1, width, acc0, x_at, 0, w_at, run, n, border=called)
                    return
                with K.If(any_taps):
                    with K.Then():
                        S.dot(flavour, 1, width, acc0, x_at, 0, w_at, run, n, border=called)

            with K.serial(0, k_h) as kh:
                ih = K.bind(ih0 + kh * K.c32(dh))
                w_row = K.bind(w0 + kh * K.c32(width * run))
                with K.If(K.T.And(ih >= K.c32(0), ih < K.c32(g.in_h))):
                    with K.Then():
                        x_tap = K.bind(((n * K.c32(g.in_h) + ih) * K.c32(g.in_w) + iw0 + kw_lo) * K.c32(ic))
                        border_dot(zero, K.T.address_of(w[w_row]), lo_n, lo_n > K.c32(0))
                        border_dot(K.T.address_of(x[x_tap]), K.T.address_of(w[w_row + lo_n]), hi_j - lo_n)
                        border_dot(zero, K.T.address_of(w[w_row + hi_j]), K.c32(run) - hi_j, hi_j < K.c32(run))
                    with K.Else():
                        border_dot(zero, K.T.address_of(w[w_row]), K.c32(run))

        def guarded_reduction(n, oh, ow, width, w0) -> None:
            """One pixel anywhere: a padded tap reads nothing and counts as ``zp_in``."""
            if simd_border:
                simd_border_reduction(n, oh, ow, width, w0)
                return
            ih0 = K.bind(oh * K.c32(sh) - K.c32(pt))
            iw0 = K.bind(ow * K.c32(sw) - K.c32(pl))
            with K.serial(0, k_h) as kh:
                ih = K.bind(ih0 + kh * K.c32(dh))
                row_ok = K.bind(K.T.And(ih >= K.c32(0), ih < K.c32(g.in_h)))
                with K.serial(0, k_w) as kw:
                    iw = K.bind(iw0 + kw * K.c32(dw))
                    ok = K.bind(K.T.And(row_ok, K.T.And(iw >= K.c32(0), iw < K.c32(g.in_w))))
                    x_tap = K.bind(((n * K.c32(g.in_h) + ih) * K.c32(g.in_w) + iw) * K.c32(ic))
                    with K.serial(0, ic) as j:
                        value = K.bind(K.T.if_then_else(ok, K.i32(x[x_tap + j]), K.c32(input_zero_point)))
                        tap = K.bind(kw * K.c32(ic) + j)
                        for r in range(width):
                            K.store(acc, acc[r] + value * K.i32(w[w_index(w0, width, kh, tap, r)]), [r])

        def pixel_group(n, oh, ow0, interior, npix) -> None:
            """``npix`` output pixels from ``ow0`` for all channel blocks. ``interior`` (a
            Python bool or a runtime condition) picks the reduction; the requantization code
            after it exists once."""
            out_index = K.bind(((n * K.c32(g.out_h) + oh) * K.c32(g.out_w) + ow0) * K.c32(oc) + y_base[0])

            def body(c0, width, w0) -> None:
                for p in range(pixels):
                    for r in range(width):
                        K.store(acc, b[c0 + K.c32(r)], [p * width + r])
                if interior is True:
                    fast_reduction(n, oh, ow0, width, w0)
                else:
                    with K.If(interior):
                        with K.Then():
                            fast_reduction(n, oh, ow0, width, w0)
                        with K.Else():
                            guarded_reduction(n, oh, ow0, width, w0)
                epilogue(c0, width, npix, out_index)

            channel_blocks(body)

        if use_plane:
            (ipt, ipl) = image.pad
            copy_h, copy_w = min(image.in_h, plane_h - ipt), min(image.in_w, plane_w - ipl)
            with K.serial(0, image.batches) as nb:
                with K.serial(0, copy_h) as ih:
                    src = K.bind((nb * K.c32(image.in_h) + ih) * K.c32(image.in_w * ic))
                    dst = K.bind(((ih + K.c32(ipt)) * K.c32(plane_w) + K.c32(ipl)) * K.c32(ic))
                    with K.serial(0, copy_w * ic) as j:
                        K.store(x, x_in[src + j], [dst + j])
                y_base[0] = K.bind(nb * K.c32(g.out_h * g.out_w * oc))
                sweep(g, pixels, pixel_group)
        else:
            sweep(g, pixels, pixel_group)
    g = image
    macs = g.batches * g.out_h * g.out_w * oc * taps
    note = (f"block={block} pixels={pixels} unroll={schedule.unroll} padded_plane={use_plane}"
            + (f" simd={flavour}" if flavour else ""))
    return Kernel(K.finish(ib), consts, macs=macs, note=note)


def as_one_row(g: Geometry) -> Geometry:
    """A 1x1 stride-1 convolution's image as one row of ``H*W`` pixels (the same NHWC bytes):
    register blocks of pixels then run across row ends, so a 5-wide row no longer forces a
    5-pixel block or leaves pixels to the single-pixel path."""
    return replace(g, in_h=1, in_w=g.in_h * g.in_w, out_h=1, out_w=g.out_h * g.out_w)


def dw_is_one(g: Geometry) -> bool:
    return g.dilation[1] == 1


def with_zero_row(packed: np.ndarray, length: int, zero_point: int) -> np.ndarray:
    """``packed`` weights followed by ``length`` bytes of the input zero point: what the SIMD
    helpers read for padded taps. As constant data it costs no stack (a zero-point row on the
    stack was the deepest frame of the SIMD kernels) and no fill loop per call."""
    row = np.full(length, zero_point, dtype=np.int8)
    return np.concatenate([packed.reshape(-1).astype(np.int8), row])


def channel_vectors(w: np.ndarray, lanes: int) -> np.ndarray:
    """``[C, T]`` weights (C output channels, T taps) as ``[C/lanes][T][lanes]``: a helper walks
    the taps of ``lanes`` channels with one pointer (C % lanes == 0)."""
    c, t = w.shape
    return np.ascontiguousarray(w.reshape(c // lanes, lanes, t).transpose(0, 2, 1)).reshape(-1).astype(np.int8)


def mve_pointwise_kernel(name: str, in_shape, out_shape, weights: np.ndarray, bias: np.ndarray,
                         stage: RequantStage, g: Geometry) -> Kernel:
    """1x1 CONV_2D on MVE: ``mcuorch_mve_pwconv`` per output pixel (no padding can apply)."""
    oc, ic = weights.shape[0], weights.shape[3]
    # [OC/4][IC/16][4][16]: the four channels' next 16 bytes are one run
    packed = np.ascontiguousarray(weights.reshape(oc // 4, 4, ic // 16, 16).transpose(0, 2, 1, 3)).reshape(-1)
    consts, params = weighted_signature(in_shape, out_shape, packed.astype(np.int8), bias, oc, stage)
    sh, sw = g.stride
    with K.prim_func(name, params) as (ib, bufs):
        x, w, b, mult, shift, y = weighted_buffers(bufs, in_shape, out_shape, packed, stage)
        with K.serial(0, g.batches) as n:
            with K.serial(0, g.out_h) as oh:
                with K.serial(0, g.out_w) as ow:
                    out_index = ((n * K.c32(g.out_h) + oh) * K.c32(g.out_w) + ow) * K.c32(oc)
                    in_index = ((n * K.c32(g.in_h) + oh * K.c32(sh)) * K.c32(g.in_w) + ow * K.c32(sw)) * K.c32(ic)
                    S.call("mcuorch_mve_pwconv", K.T.address_of(y[out_index]), K.T.address_of(x[in_index]),
                           K.T.address_of(w[0]), K.T.address_of(b[0]), *requant_args(stage, mult, shift, K.c32(0)),
                           oc, ic, *output_args(stage))
    macs = g.batches * g.out_h * g.out_w * oc * ic
    return Kernel(K.finish(ib), consts, macs=macs, note="simd=mve mcuorch_mve_pwconv per pixel")


def even_odd_order(channels: int) -> np.ndarray:
    """Channel order ``[0 2 4 6 1 3 5 7]`` per group of 8: the lanes MVE's widening
    (VMOVLB/VMOVLT) splits an int16x8 into."""
    group = np.array([0, 2, 4, 6, 1, 3, 5, 7])
    return (np.arange(0, channels, 8)[:, None] + group[None, :]).reshape(-1)


def vector_pixel_kernel(name: str, helper: str, in_shape, out_shape, packed: np.ndarray, bias: np.ndarray,
                     stage: RequantStage, g: Geometry, input_zero_point: int, channel_args: list[int],
                     macs_per_pixel: int, extra_args: tuple[int, ...] | list[int] = ()) -> Kernel:
    """A kernel that calls one channel-vector helper (MVE or RVV, :mod:`..simd`) per output pixel:
    ``helper(y_pixel, x_image, ih0, iw0, w, bias, mult, shift, pc, m0, s0, *channel_args, in_h,
    in_w, k_h, k_w, dh, dw, zrow, *extra_args, zp_out, lo, hi)``; ``zrow`` is one input pixel
    of zero points (what a padded tap reads), stored after the weights (:func:`with_zero_row`)."""
    oc = out_shape[3]
    zero_at = packed.size
    packed = with_zero_row(packed, in_shape[3], input_zero_point)
    consts, params = weighted_signature(in_shape, out_shape, packed, bias, oc, stage)
    sh, sw = g.stride
    pt, pl = g.pad
    image = g.in_h * g.in_w * in_shape[3]
    with K.prim_func(name, params) as (ib, bufs):
        x, w, b, mult, shift, y = weighted_buffers(bufs, in_shape, out_shape, packed, stage)
        with K.serial(0, g.batches) as n:
            with K.serial(0, g.out_h) as oh:
                with K.serial(0, g.out_w) as ow:
                    out_index = ((n * K.c32(g.out_h) + oh) * K.c32(g.out_w) + ow) * K.c32(oc)
                    S.call(helper, K.T.address_of(y[out_index]), K.T.address_of(x[n * K.c32(image)]),
                           oh * K.c32(sh) - K.c32(pt), ow * K.c32(sw) - K.c32(pl), K.T.address_of(w[0]),
                           K.T.address_of(b[0]), *requant_args(stage, mult, shift, K.c32(0)), *channel_args,
                           g.in_h, g.in_w, g.k_h, g.k_w, *g.dilation, K.T.address_of(w[zero_at]),
                           *extra_args, *output_args(stage))
    macs = g.batches * g.out_h * g.out_w * macs_per_pixel
    return Kernel(K.finish(ib), consts, macs=macs, note=f"simd={helper.split('_')[1]} {helper} per pixel")


# --------------------------------------------------------------------------- DEPTHWISE_CONV_2D


def depthwise_kernel(name: str, in_shape, out_shape, weights: np.ndarray, bias: np.ndarray,
                     stage: RequantStage, g: Geometry, input_zero_point: int, multiplier: int,
                     schedule: DepthwiseSchedule = DepthwiseSchedule()) -> Kernel:
    """``weights`` 1HW(C*M) int8; ``bias`` folded per output channel."""
    _, k_h, k_w, oc = weights.shape
    ic = in_shape[3]
    taps = k_h * k_w
    if schedule.isa.mve and multiplier == 1 and oc % 8 == 0 and taps <= 25:
        packed = channel_vectors(np.ascontiguousarray(weights.reshape(taps, oc).T), 8)
        order = even_odd_order(oc)
        permuted = replace(stage, multiplier=tuple(stage.multiplier[i] for i in order),
                           shift=tuple(stage.shift[i] for i in order))
        pair = int(weights.min(initial=0) > -128)  # two int16 products never overflow
        return vector_pixel_kernel(name, "mcuorch_mve_dwconv", in_shape, out_shape, packed, bias[order], permuted, g,
                                input_zero_point, [oc], oc * taps, [pair])
    if schedule.isa.rvv and multiplier == 1 and taps <= 25:
        return vector_pixel_kernel(name, "mcuorch_rvv_dwconv", in_shape, out_shape,
                                weights.reshape(-1).astype(np.int8), bias, stage, g, input_zero_point, [oc],
                                oc * taps)
    packed = np.ascontiguousarray(weights.reshape(taps, oc).T).astype(np.int8)  # [oc][tap]
    consts, params = weighted_signature(in_shape, out_shape, packed, bias, oc, stage)
    sh, sw = g.stride
    dh, dw = g.dilation
    pt, pl = g.pad
    in_regs = taps <= schedule.max_register_taps
    plane_h = (g.out_h - 1) * sh + (k_h - 1) * dh + 1
    plane_w = (g.out_w - 1) * sw + (k_w - 1) * dw + 1
    bordered = (g.interior(0), g.interior(1)) != ((0, g.out_h), (0, g.out_w))
    use_plane = bordered and plane_h * plane_w <= schedule.max_plane_bytes
    with K.prim_func(name, params) as (ib, bufs):
        x = K.T.decl_buffer((int(np.prod(in_shape)),), K.I8, data=bufs[0].data)
        w, b = bufs[1], bufs[2]
        y = K.T.decl_buffer((int(np.prod(out_shape)),), K.I8, data=bufs[-1].data)
        # DSP: a kernel row's taps are consecutive plane bytes, 4 per SMLAD pair
        pairs = schedule.isa.dsp and use_plane and dw == 1 and in_regs
        chunks = -(-k_w // 4)
        if use_plane:
            # The padding of the plane is the input zero point for every channel: fill once
            # (3 more bytes: the 4-byte loads of the DSP pairs may read past a row's last tap).
            size = plane_h * plane_w + (3 if pairs else 0)
            plane = K.local(size, K.I8)
            with K.serial(0, size) as i:
                K.store(plane, K.T.Cast(K.I8, K.c32(input_zero_point)), [i])
        with K.serial(0, oc) as c:
            if multiplier == 1:
                cin = c
            else:
                cin = K.bind(K.T.truncdiv(c, K.c32(multiplier)))
            if pairs:  # (even, odd) int16 pairs of each 4-tap chunk of each kernel row
                regs = K.Hoisted(2 * k_h * chunks + 5)

                def tap_weight(kh, kw):
                    return K.i32(w[c, kh * k_w + kw]) if kw < k_w else None

                packed_w = [[(regs.put(S.pack16(tap_weight(kh, 4 * j), tap_weight(kh, 4 * j + 2))),
                              regs.put(S.pack16(tap_weight(kh, 4 * j + 1), tap_weight(kh, 4 * j + 3))))
                             for j in range(chunks)] for kh in range(k_h)]
            else:
                regs = K.Hoisted((taps if in_regs else 0) + 5)
            wreg = ([regs.put(K.i32(w[c, t])) for t in range(taps)] if in_regs and not pairs else None)
            bias_c = regs.put(b[c])
            rnd_c = None
            if stage.per_channel:
                m_c = regs.put(bufs[3][c])
                s_c = regs.put(K.i32(bufs[4][c]))
                if stage.short_rounding:
                    rnd_c = regs.put(K.c32(1) << (K.c32(-1) - s_c))
            else:
                m_c = s_c = None

            def weight(t):
                return wreg[t] if in_regs else K.i32(w[c, t])

            def finish(n, oh, ow, acc_expr) -> None:
                out_index = ((n * K.c32(g.out_h) + oh) * K.c32(g.out_w) + ow) * K.c32(oc) + c
                K.store(y, K.T.Cast(K.I8, S.requantize(schedule.isa.simd, acc_expr, stage, m_c, s_c, rnd_c)),
                        [out_index])

            def interior_pixel(n, oh, ow, _npix) -> None:
                base = K.bind(((n * K.c32(g.in_h) + oh * K.c32(sh) - K.c32(pt)) * K.c32(g.in_w)
                               + ow * K.c32(sw) - K.c32(pl)) * K.c32(ic) + cin)
                acc = bias_c
                for kh in range(k_h):
                    for kw in range(k_w):
                        off = (kh * dh * g.in_w + kw * dw) * ic
                        acc = acc + weight(kh * k_w + kw) * K.i32(x[base + K.c32(off)])
                finish(n, oh, ow, acc)

            if use_plane:
                copy_h, copy_w = min(g.in_h, plane_h - pt), min(g.in_w, plane_w - pl)
                with K.serial(0, g.batches) as n:
                    with K.serial(0, copy_h) as ih:
                        src = K.bind((n * K.c32(g.in_h) + ih) * K.c32(g.in_w * ic) + cin)
                        dst = K.bind((ih + K.c32(pt)) * K.c32(plane_w) + K.c32(pl))
                        with K.serial(0, copy_w) as iw:
                            K.store(plane, x[src + iw * K.c32(ic)], [dst + iw])
                    with K.serial(0, g.out_h) as oh:
                        with K.serial(0, g.out_w) as ow:
                            base = K.bind(oh * K.c32(sh * plane_w) + ow * K.c32(sw))
                            acc = bias_c
                            for kh in range(k_h):
                                if pairs:
                                    for j, (we, wo) in enumerate(packed_w[kh]):
                                        at = K.T.address_of(plane[base + K.c32(kh * dh * plane_w + 4 * j)])
                                        acc = K.T.call_extern("int32", "mcuorch_dsp_dot4p", acc, at, we, wo)
                                    continue
                                for kw in range(k_w):
                                    tap = plane[base + K.c32(kh * dh * plane_w + kw * dw)]
                                    acc = acc + weight(kh * k_w + kw) * K.i32(tap)
                            finish(n, oh, ow, acc)
            else:
                # Border pixels skip padded taps as TFLite does: with the offset folded into
                # ``bias_c`` that needs the unfolded bias back, once per channel.
                wsum = weight(0)
                for t in range(1, taps):
                    wsum = wsum + weight(t)
                raw_bias = regs.put(bias_c + K.c32(input_zero_point) * wsum)
                acc1 = K.local(1)

                def border_pixel(n, oh, ow) -> None:
                    ih0 = K.bind(oh * K.c32(sh) - K.c32(pt))
                    iw0 = K.bind(ow * K.c32(sw) - K.c32(pl))
                    K.store(acc1, raw_bias, [0])
                    with K.serial(0, k_h) as kh:
                        ih = K.bind(ih0 + kh * K.c32(dh))
                        with K.If(K.T.And(ih >= K.c32(0), ih < K.c32(g.in_h))):
                            with K.Then():
                                with K.serial(0, k_w) as kw:
                                    iw = K.bind(iw0 + kw * K.c32(dw))
                                    with K.If(K.T.And(iw >= K.c32(0), iw < K.c32(g.in_w))):
                                        with K.Then():
                                            xv = K.i32(x[((n * K.c32(g.in_h) + ih) * K.c32(g.in_w) + iw) * K.c32(ic) + cin])
                                            tap = K.i32(w[c, kh * K.c32(k_w) + kw])
                                            K.store(acc1, acc1[0] + tap * (xv - K.c32(input_zero_point)), [0])
                    finish(n, oh, ow, acc1[0])

                sweep_pixels(g, interior_pixel, border_pixel)
    macs = g.batches * g.out_h * g.out_w * oc * taps
    note = f"channel-outer taps_in_registers={in_regs} padded_plane={use_plane}" + (" simd=dsp" if pairs else "")
    return Kernel(K.finish(ib), consts, macs=macs, note=note)
