/*
 * RV32 F/D semantics probe: runs F and D instructions (inline assembly, -march=rv32gc
 * -mabi=ilp32d) over a fixed pseudo-random set of operands under every rounding mode and
 * prints one hash line per (mode, instruction), so that two simulators can be compared line
 * by line. tests/integration/test_etiss_fp_semantics.py adds this file to a copy of the tiny
 * test model; the harness calls mcuorch_model_report() after the benchmark.
 *
 *   fp <mode> <insn> v=<hash of the results> f=<hash of the flags each raised>
 *   fp <mode> accrued f=<fflags after several instructions without clearing>
 *   fp-mode <mode> <hash of all of the mode's lines>
 *
 * <mode> is rne/rtz/rdn/rup/rmm for instructions with rm=DYN (frm set through the frm CSR,
 * as fesetround does) and static-<mode> for an explicit rm while frm holds another mode.
 * Operands are made from integer bit patterns only (no floating-point instruction takes
 * part in making them except multiplications with a static rm whose products are exact),
 * so every simulator gets the same inputs.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define SAMPLES 192

typedef uint32_t u32;
typedef uint64_t u64;

static const char *const MODE_NAMES[5] = {"rne", "rtz", "rdn", "rup", "rmm"};

/* --- bits <-> values (no conversion instructions) ------------------------------------------ */

static inline float f32(u32 bits) { float f; memcpy(&f, &bits, 4); return f; }
static inline u32 b32(float f) { u32 bits; memcpy(&bits, &f, 4); return bits; }
static inline double f64(u64 bits) { double d; memcpy(&d, &bits, 8); return d; }
static inline u64 b64(double d) { u64 bits; memcpy(&bits, &d, 8); return bits; }

/* --- the fcsr --------------------------------------------------------------------------------- */

static inline void set_frm(u32 rm) { __asm__ volatile("csrw frm, %0" : : "r"(rm)); }
static inline void clear_flags(void) { __asm__ volatile("csrw fflags, zero"); }
static inline u32 take_flags(void)
{
    u32 flags;
    __asm__ volatile("csrrw %0, fflags, zero" : "=r"(flags));
    return flags;
}

/* --- deterministic operands ------------------------------------------------------------------- */

static u32 rng_state;
static u32 rnd(void)
{
    u32 x = rng_state; /* xorshift32 */
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return rng_state = x;
}
static u64 rnd64(void) { return ((u64)rnd() << 32) | rnd(); }

static u32 make_f32(u32 sign, u32 exp, u32 mant) { return sign << 31 | (exp & 0xff) << 23 | (mant & 0x7fffff); }
static u64 make_f64(u64 sign, u64 exp, u64 mant)
{
    return sign << 63 | (exp & 0x7ff) << 52 | (mant & 0xfffffffffffffull);
}

static const u32 SPECIAL_F32[] = {
    0x00000000, 0x80000000, 0x7f800000, 0xff800000, 0x7fc00000, 0x7f800001, 0x00000001,
    0x807fffff, 0x7f7fffff, 0xff7fffff, 0x3f800000, 0xbf800000, 0x3f000000, 0xbf000000,
    0x4f000000, 0x4f800000, 0xcf000000, 0x3fc00000, 0x40200000, 0xbfc00000,
};
static const u64 SPECIAL_F64[] = {
    0x0000000000000000ull, 0x8000000000000000ull, 0x7ff0000000000000ull, 0xfff0000000000000ull,
    0x7ff8000000000000ull, 0x7ff0000000000001ull, 0x0000000000000001ull, 0x800fffffffffffffull,
    0x7fefffffffffffffull, 0xffefffffffffffffull, 0x3ff0000000000000ull, 0xbff0000000000000ull,
    0x3fe0000000000000ull, 0xbfe0000000000000ull, 0x41e0000000000000ull, 0x41f0000000000000ull,
    0xc1e0000000000000ull, 0x41efffffffe00000ull, 0x41effffffff00000ull, 0x41dfffffffc00000ull,
    0x4004000000000000ull, 0xc1f0000000100000ull, 0x41e65a0bc0000000ull, 0xbfd8000000000000ull,
};
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* One operand from a mix of classes: specials, moderate normals, values with an integer part
 * (conversions: around 2^31 and 2^32 too), tiny and huge magnitudes, any bit pattern. */
static u32 gen_f32(void)
{
    u32 r = rnd(), sign = rnd() & 1;
    switch (r % 8) {
    case 0: return SPECIAL_F32[rnd() % COUNT(SPECIAL_F32)];
    case 1: case 2: return make_f32(sign, 127 - 20 + rnd() % 40, rnd());
    case 3: return make_f32(sign, 127 + rnd() % 34, rnd());             /* 1 .. 2^34 */
    case 4: return make_f32(sign, 127 + 29 + rnd() % 4, rnd() & ~0xffu); /* 2^29 .. 2^33 */
    case 5: return make_f32(sign, rnd() % 4, rnd());                     /* subnormal, tiny */
    case 6: return make_f32(sign, 250 + rnd() % 5, rnd());               /* near overflow */
    default: return rnd();
    }
}

static u64 gen_f64(void)
{
    u32 r = rnd();
    u64 sign = rnd() & 1;
    switch (r % 8) {
    case 0: return SPECIAL_F64[rnd() % COUNT(SPECIAL_F64)];
    case 1: case 2: return make_f64(sign, 1023 - 40 + rnd() % 80, rnd64());
    case 3: return make_f64(sign, 1023 + rnd() % 34, rnd64());
    case 4: return make_f64(sign, 1023 + 29 + rnd() % 4, rnd64() & ~0xfffffull);
    case 5: return make_f64(sign, rnd() % 4, rnd64());
    case 6: return make_f64(sign, 2040 + rnd() % 7, rnd64());
    default: return rnd64();
    }
}

/* Short significands, so that products are exact (for fused multiply-add cancellations). */
static u32 short_f32(void) { return make_f32(rnd() & 1, 127 - 10 + rnd() % 20, rnd() & 0x7ff000); }
static u64 short_f64(void)
{
    return make_f64(rnd() & 1, 1023 - 10 + rnd() % 20, rnd64() & 0xffffffc000000ull);
}

static u32 gen_int(void)
{
    switch (rnd() % 4) {
    case 0: return rnd() & 0xffffff;                /* exact in a float */
    case 1: return (u32)-(int32_t)(rnd() & 0xffff); /* small negative */
    default: return rnd();                          /* rounds */
    }
}

/* --- the operands ----------------------------------------------------------------------------- */

static u32 s_a[SAMPLES], s_b[SAMPLES], s_c[SAMPLES];   /* float operands */
static u64 d_a[SAMPLES], d_b[SAMPLES], d_c[SAMPLES];   /* double operands */
static u32 i_a[SAMPLES];                               /* integer operands */

static float mul_rne_s(float a, float b)
{
    float r;
    __asm__ volatile("fmul.s %0, %1, %2, rne" : "=f"(r) : "f"(a), "f"(b));
    return r;
}
static double mul_rne_d(double a, double b)
{
    double r;
    __asm__ volatile("fmul.d %0, %1, %2, rne" : "=f"(r) : "f"(a), "f"(b));
    return r;
}

static void make_operands(void)
{
    rng_state = 0x2545f491u;
    for (int i = 0; i < SAMPLES; i++) {
        s_a[i] = gen_f32(), s_b[i] = gen_f32(), s_c[i] = gen_f32();
        d_a[i] = gen_f64(), d_b[i] = gen_f64(), d_c[i] = gen_f64();
        i_a[i] = gen_int();
        if (i % 4 == 1) {
            /* c = ±a*b (exactly), or one unit in the last place off: exact zeros of either
             * sign and massive cancellation in the fused multiply-adds */
            s_a[i] = short_f32(), s_b[i] = short_f32();
            s_c[i] = b32(mul_rne_s(f32(s_a[i]), f32(s_b[i]))) ^ (rnd() & 0x80000000u);
            s_c[i] += rnd() % 3 == 0 ? 1 : 0;
            d_a[i] = short_f64(), d_b[i] = short_f64();
            d_c[i] = b64(mul_rne_d(f64(d_a[i]), f64(d_b[i]))) ^ ((u64)(rnd() & 1) << 63);
            d_c[i] += rnd() % 3 == 0 ? 1 : 0;
        }
    }
}

/* --- the instructions: one function each, u64 in and out (floats in the low half) ------------ */

typedef u64 (*op_fn)(int i);

#define S_BINARY(fn, insn)                                                                         \
    static u64 fn(int i)                                                                           \
    {                                                                                              \
        float r;                                                                                   \
        __asm__ volatile(insn " %0, %1, %2" : "=f"(r) : "f"(f32(s_a[i])), "f"(f32(s_b[i])));       \
        return b32(r);                                                                             \
    }
#define D_BINARY(fn, insn)                                                                         \
    static u64 fn(int i)                                                                           \
    {                                                                                              \
        double r;                                                                                  \
        __asm__ volatile(insn " %0, %1, %2" : "=f"(r) : "f"(f64(d_a[i])), "f"(f64(d_b[i])));       \
        return b64(r);                                                                             \
    }
#define S_TERNARY(fn, insn)                                                                        \
    static u64 fn(int i)                                                                           \
    {                                                                                              \
        float r;                                                                                   \
        __asm__ volatile(insn " %0, %1, %2, %3"                                                    \
                         : "=f"(r) : "f"(f32(s_a[i])), "f"(f32(s_b[i])), "f"(f32(s_c[i])));        \
        return b32(r);                                                                             \
    }
#define D_TERNARY(fn, insn)                                                                        \
    static u64 fn(int i)                                                                           \
    {                                                                                              \
        double r;                                                                                  \
        __asm__ volatile(insn " %0, %1, %2, %3"                                                    \
                         : "=f"(r) : "f"(f64(d_a[i])), "f"(f64(d_b[i])), "f"(f64(d_c[i])));        \
        return b64(r);                                                                             \
    }
/* unary: result type R in register class RC, operand type A from array SRC */
#define UNARY(fn, insn, R, RC, TO_BITS, A, SRC, FROM_BITS)                                         \
    static u64 fn(int i)                                                                           \
    {                                                                                              \
        R r;                                                                                       \
        __asm__ volatile(insn " %0, %1" : "=" RC(r) : A(FROM_BITS(SRC[i])));                       \
        return TO_BITS(r);                                                                         \
    }
#define ID(x) (x)
#define REG_F "f"
#define REG_X "r"

/* dynamic rounding (rm = dyn) */
S_BINARY(fadd_s, "fadd.s") S_BINARY(fsub_s, "fsub.s") S_BINARY(fmul_s, "fmul.s")
S_BINARY(fdiv_s, "fdiv.s")
S_TERNARY(fmadd_s, "fmadd.s") S_TERNARY(fmsub_s, "fmsub.s") S_TERNARY(fnmadd_s, "fnmadd.s")
S_TERNARY(fnmsub_s, "fnmsub.s")
D_BINARY(fadd_d, "fadd.d") D_BINARY(fsub_d, "fsub.d") D_BINARY(fmul_d, "fmul.d")
D_BINARY(fdiv_d, "fdiv.d")
D_TERNARY(fmadd_d, "fmadd.d") D_TERNARY(fmsub_d, "fmsub.d") D_TERNARY(fnmadd_d, "fnmadd.d")
D_TERNARY(fnmsub_d, "fnmsub.d")
UNARY(fsqrt_s, "fsqrt.s", float, REG_F, b32, "f", s_a, f32)
UNARY(fsqrt_d, "fsqrt.d", double, REG_F, b64, "f", d_a, f64)
UNARY(fcvt_w_s, "fcvt.w.s", u32, REG_X, ID, "f", s_a, f32)
UNARY(fcvt_wu_s, "fcvt.wu.s", u32, REG_X, ID, "f", s_a, f32)
UNARY(fcvt_w_d, "fcvt.w.d", u32, REG_X, ID, "f", d_a, f64)
UNARY(fcvt_wu_d, "fcvt.wu.d", u32, REG_X, ID, "f", d_a, f64)
UNARY(fcvt_s_w, "fcvt.s.w", float, REG_F, b32, "r", i_a, ID)
UNARY(fcvt_s_wu, "fcvt.s.wu", float, REG_F, b32, "r", i_a, ID)
UNARY(fcvt_d_w, "fcvt.d.w", double, REG_F, b64, "r", i_a, ID)
UNARY(fcvt_d_wu, "fcvt.d.wu", double, REG_F, b64, "r", i_a, ID)
UNARY(fcvt_s_d, "fcvt.s.d", float, REG_F, b32, "f", d_a, f64)
UNARY(fcvt_d_s, "fcvt.d.s", double, REG_F, b64, "f", s_a, f32)
/* no rounding */
S_BINARY(fmin_s, "fmin.s") S_BINARY(fmax_s, "fmax.s") S_BINARY(fsgnj_s, "fsgnj.s")
S_BINARY(fsgnjn_s, "fsgnjn.s") S_BINARY(fsgnjx_s, "fsgnjx.s")
D_BINARY(fmin_d, "fmin.d") D_BINARY(fmax_d, "fmax.d") D_BINARY(fsgnj_d, "fsgnj.d")
D_BINARY(fsgnjn_d, "fsgnjn.d") D_BINARY(fsgnjx_d, "fsgnjx.d")
UNARY(fclass_s, "fclass.s", u32, REG_X, ID, "f", s_a, f32)
UNARY(fclass_d, "fclass.d", u32, REG_X, ID, "f", d_a, f64)
/* single-precision instructions reading registers that hold doubles: an operand that is not
 * NaN-boxed (upper 32 bits all ones) is the canonical NaN */
UNARY(unboxed_fcvt_d_s, "fcvt.d.s", double, REG_F, b64, "f", d_a, f64)
UNARY(unboxed_fclass_s, "fclass.s", u32, REG_X, ID, "f", d_a, f64)
D_BINARY(unboxed_fadd_s, "fadd.s")

#define COMPARE(fn, insn, T, SRC_A, SRC_B, FROM_BITS)                                              \
    static u64 fn(int i)                                                                           \
    {                                                                                              \
        u32 r;                                                                                     \
        __asm__ volatile(insn " %0, %1, %2" : "=r"(r) : "f"(FROM_BITS(SRC_A[i])), "f"(FROM_BITS(SRC_B[i]))); \
        return r;                                                                                  \
    }
COMPARE(feq_s, "feq.s", float, s_a, s_b, f32) COMPARE(flt_s, "flt.s", float, s_a, s_b, f32)
COMPARE(fle_s, "fle.s", float, s_a, s_b, f32) COMPARE(feq_d, "feq.d", double, d_a, d_b, f64)
COMPARE(flt_d, "flt.d", double, d_a, d_b, f64) COMPARE(fle_d, "fle.d", double, d_a, d_b, f64)

typedef struct {
    const char *name;
    op_fn fn;
} op_t;

static const op_t DYNAMIC_OPS[] = {
    {"fadd.s", fadd_s}, {"fsub.s", fsub_s}, {"fmul.s", fmul_s}, {"fdiv.s", fdiv_s},
    {"fsqrt.s", fsqrt_s}, {"fmadd.s", fmadd_s}, {"fmsub.s", fmsub_s}, {"fnmadd.s", fnmadd_s},
    {"fnmsub.s", fnmsub_s}, {"fadd.d", fadd_d}, {"fsub.d", fsub_d}, {"fmul.d", fmul_d},
    {"fdiv.d", fdiv_d}, {"fsqrt.d", fsqrt_d}, {"fmadd.d", fmadd_d}, {"fmsub.d", fmsub_d},
    {"fnmadd.d", fnmadd_d}, {"fnmsub.d", fnmsub_d}, {"fcvt.w.s", fcvt_w_s},
    {"fcvt.wu.s", fcvt_wu_s}, {"fcvt.w.d", fcvt_w_d}, {"fcvt.wu.d", fcvt_wu_d},
    {"fcvt.s.w", fcvt_s_w}, {"fcvt.s.wu", fcvt_s_wu}, {"fcvt.d.w", fcvt_d_w},
    {"fcvt.d.wu", fcvt_d_wu}, {"fcvt.s.d", fcvt_s_d}, {"fcvt.d.s", fcvt_d_s},
    {"fmin.s", fmin_s}, {"fmax.s", fmax_s}, {"fsgnj.s", fsgnj_s}, {"fsgnjn.s", fsgnjn_s},
    {"fsgnjx.s", fsgnjx_s}, {"fmin.d", fmin_d}, {"fmax.d", fmax_d}, {"fsgnj.d", fsgnj_d},
    {"fsgnjn.d", fsgnjn_d}, {"fsgnjx.d", fsgnjx_d}, {"feq.s", feq_s}, {"flt.s", flt_s},
    {"fle.s", fle_s}, {"feq.d", feq_d}, {"flt.d", flt_d}, {"fle.d", fle_d},
    {"fclass.s", fclass_s}, {"fclass.d", fclass_d}, {"fcvt.d.s/unboxed", unboxed_fcvt_d_s},
    {"fclass.s/unboxed", unboxed_fclass_s}, {"fadd.s/unboxed", unboxed_fadd_s},
};

/* static rounding: the same instructions with an explicit rm, one table per mode */
#define STATIC_SET(rm)                                                                             \
    static u64 sfadd_s_##rm(int i)                                                                 \
    {                                                                                              \
        float r;                                                                                   \
        __asm__ volatile("fadd.s %0, %1, %2, " #rm : "=f"(r) : "f"(f32(s_a[i])), "f"(f32(s_b[i]))); \
        return b32(r);                                                                             \
    }                                                                                              \
    static u64 sfmul_d_##rm(int i)                                                                 \
    {                                                                                              \
        double r;                                                                                  \
        __asm__ volatile("fmul.d %0, %1, %2, " #rm : "=f"(r) : "f"(f64(d_a[i])), "f"(f64(d_b[i]))); \
        return b64(r);                                                                             \
    }                                                                                              \
    static u64 sfnmadd_s_##rm(int i)                                                               \
    {                                                                                              \
        float r;                                                                                   \
        __asm__ volatile("fnmadd.s %0, %1, %2, %3, " #rm                                           \
                         : "=f"(r) : "f"(f32(s_a[i])), "f"(f32(s_b[i])), "f"(f32(s_c[i])));        \
        return b32(r);                                                                             \
    }                                                                                              \
    static u64 sfmsub_d_##rm(int i)                                                                \
    {                                                                                              \
        double r;                                                                                  \
        __asm__ volatile("fmsub.d %0, %1, %2, %3, " #rm                                            \
                         : "=f"(r) : "f"(f64(d_a[i])), "f"(f64(d_b[i])), "f"(f64(d_c[i])));        \
        return b64(r);                                                                             \
    }                                                                                              \
    static u64 sfcvt_w_s_##rm(int i)                                                               \
    {                                                                                              \
        u32 r;                                                                                     \
        __asm__ volatile("fcvt.w.s %0, %1, " #rm : "=r"(r) : "f"(f32(s_a[i])));                    \
        return r;                                                                                  \
    }                                                                                              \
    static u64 sfcvt_wu_d_##rm(int i)                                                              \
    {                                                                                              \
        u32 r;                                                                                     \
        __asm__ volatile("fcvt.wu.d %0, %1, " #rm : "=r"(r) : "f"(f64(d_a[i])));                   \
        return r;                                                                                  \
    }                                                                                              \
    static u64 sfcvt_s_d_##rm(int i)                                                               \
    {                                                                                              \
        float r;                                                                                   \
        __asm__ volatile("fcvt.s.d %0, %1, " #rm : "=f"(r) : "f"(f64(d_a[i])));                    \
        return b32(r);                                                                             \
    }                                                                                              \
    static u64 sfcvt_s_w_##rm(int i)                                                               \
    {                                                                                              \
        float r;                                                                                   \
        __asm__ volatile("fcvt.s.w %0, %1, " #rm : "=f"(r) : "r"(i_a[i]));                         \
        return b32(r);                                                                             \
    }                                                                                              \
    static const op_t STATIC_##rm[] = {                                                            \
        {"fadd.s", sfadd_s_##rm}, {"fmul.d", sfmul_d_##rm}, {"fnmadd.s", sfnmadd_s_##rm},          \
        {"fmsub.d", sfmsub_d_##rm}, {"fcvt.w.s", sfcvt_w_s_##rm}, {"fcvt.wu.d", sfcvt_wu_d_##rm},  \
        {"fcvt.s.d", sfcvt_s_d_##rm}, {"fcvt.s.w", sfcvt_s_w_##rm},                                \
    };
STATIC_SET(rne) STATIC_SET(rtz) STATIC_SET(rdn) STATIC_SET(rup) STATIC_SET(rmm)
static const op_t *const STATIC_TABLES[5] = {STATIC_rne, STATIC_rtz, STATIC_rdn, STATIC_rup, STATIC_rmm};
#define STATIC_COUNT COUNT(STATIC_rne)

/* --- hashing and printing --------------------------------------------------------------------- */

static u32 mix(u32 h, u32 x)
{
    h ^= x;
    h *= 0x9e3779b1u;
    return h ^ (h >> 15);
}

static u32 run_table(const char *mode, const op_t *ops, size_t count, u32 mode_hash)
{
    for (size_t k = 0; k < count; k++) {
        u32 values = 0x811c9dc5u, flags = 0x811c9dc5u;
        for (int i = 0; i < SAMPLES; i++) {
            clear_flags();
            u64 r = ops[k].fn(i);
            u32 f = take_flags();
            values = mix(mix(values, (u32)r), (u32)(r >> 32));
            flags = mix(flags, f);
        }
        printf("fp %s %s v=%08lx f=%08lx\n", mode, ops[k].name, (unsigned long)values,
               (unsigned long)flags);
        mode_hash = mix(mix(mode_hash, values), flags);
    }
    return mode_hash;
}

/* fflags accrue: inexact, exact, divide by zero, exact again; then read once. */
static u32 accrued(void)
{
    float one = f32(0x3f800000), tiny = f32(0x30000000), zero = f32(0), r;
    clear_flags();
    __asm__ volatile("fadd.s %0, %1, %2" : "=f"(r) : "f"(one), "f"(tiny));
    __asm__ volatile("fadd.s %0, %1, %2" : "=f"(r) : "f"(one), "f"(one));
    __asm__ volatile("fdiv.s %0, %1, %2" : "=f"(r) : "f"(one), "f"(zero));
    __asm__ volatile("fmul.s %0, %1, %2" : "=f"(r) : "f"(one), "f"(one));
    return take_flags();
}

void mcuorch_model_report(void)
{
    make_operands();
    for (u32 rm = 0; rm < 5; rm++) {
        set_frm(rm);
        u32 h = run_table(MODE_NAMES[rm], DYNAMIC_OPS, COUNT(DYNAMIC_OPS), 0x811c9dc5u);
        u32 flags = accrued();
        printf("fp %s accrued f=%02lx\n", MODE_NAMES[rm], (unsigned long)flags);
        printf("fp-mode %s %08lx\n", MODE_NAMES[rm], (unsigned long)mix(h, flags));
    }
    for (u32 rm = 0; rm < 5; rm++) {
        char mode[16];
        set_frm((rm + 3) % 5); /* frm holds another mode: the instruction's own must win */
        snprintf(mode, sizeof mode, "static-%s", MODE_NAMES[rm]);
        u32 h = run_table(mode, STATIC_TABLES[rm], STATIC_COUNT, 0x811c9dc5u);
        printf("fp-mode %s %08lx\n", mode, (unsigned long)h);
    }
    set_frm(0);
    clear_flags();
}
