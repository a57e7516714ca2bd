/*
 * Memory trace summaries for the instruction-count plugin (see memtrace.h).
 *
 * Arguments (spans are hex, [LO, HI)):
 *   trace_stack=LO:HI   the stack reservation; it grows down from HI. Kept: the lowest address
 *                       written, so the high-water mark is HI - lowest (bytes).
 *   trace_heap=LO:HI    the heap; it grows up from LO. Kept: one past the highest byte read or
 *                       written, so the high-water mark is that minus LO (0: never touched).
 *   trace_arena=LO:HI   the model's static arena. Kept: one bit per byte, set when the byte is
 *                       written after the first region entry (crt0's zeroing of .bss before
 *                       main writes every byte of it); the figure is the number of bytes
 *                       written at least once.
 *   trace_region=NAME   a region (default run): the same three figures counted only while one
 *                       of its entries runs.
 * Each access costs a few compares and, inside the arena, a bit per byte: nothing is logged.
 */
#include "memtrace.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ARENA (256u << 20) /* bytes; a bitmap of 32 MiB at most */

typedef struct {
    int given;
    uint64_t lo, hi;
} span_t;

static span_t stack_span, heap_span, arena_span;
static const char *region_name = "run";
static const int *region_active;
static uint64_t loads, stores;
static uint64_t stack_lowest = UINT64_MAX, stack_lowest_in = UINT64_MAX;
static uint64_t heap_end, heap_end_in; /* 0: nothing touched */
static uint8_t *arena_bits, *arena_bits_in;
static int arena_open; /* a region was entered: start-up is over */

static int parse_span(const char *s, span_t *span)
{
    char *end;
    errno = 0;
    span->lo = strtoull(s, &end, 16);
    if (errno || end == s || *end != ':')
        return -1;
    const char *hi = end + 1;
    span->hi = strtoull(hi, &end, 16);
    if (errno || end == hi || *end != '\0' || span->lo >= span->hi)
        return -1;
    span->given = 1;
    return 1;
}

int memtrace_arg(const char *arg)
{
    if (strncmp(arg, "trace_stack=", 12) == 0)
        return parse_span(arg + 12, &stack_span);
    if (strncmp(arg, "trace_heap=", 11) == 0)
        return parse_span(arg + 11, &heap_span);
    if (strncmp(arg, "trace_region=", 13) == 0) {
        region_name = arg + 13;
        return *region_name ? 1 : -1;
    }
    if (strncmp(arg, "trace_arena=", 12) != 0)
        return 0;
    if (parse_span(arg + 12, &arena_span) < 0 || arena_span.hi - arena_span.lo > MAX_ARENA)
        return -1;
    size_t bytes = (size_t)((arena_span.hi - arena_span.lo + 7) / 8);
    arena_bits = calloc(bytes, 1);
    arena_bits_in = calloc(bytes, 1);
    return arena_bits && arena_bits_in ? 1 : -1;
}

int memtrace_enabled(void) { return stack_span.given || heap_span.given || arena_span.given; }

const char *memtrace_region_name(void) { return region_name; }

void memtrace_watch_region(const int *active) { region_active = active; }

void memtrace_region_entered(void) { arena_open = 1; }

static void mark(uint8_t *bits, uint64_t from, uint64_t to)
{
    for (uint64_t k = from; k < to; k++)
        bits[k >> 3] |= (uint8_t)(1u << (k & 7));
}

void memtrace_access(qemu_plugin_meminfo_t info, uint64_t vaddr)
{
    uint64_t end = vaddr + (1u << qemu_plugin_mem_size_shift(info));
    int inside = region_active != NULL && *region_active;
    if (!qemu_plugin_mem_is_store(info)) {
        loads++;
    } else {
        stores++;
        if (vaddr < stack_span.hi && end > stack_span.lo) {
            uint64_t low = vaddr > stack_span.lo ? vaddr : stack_span.lo;
            if (low < stack_lowest)
                stack_lowest = low;
            if (inside && low < stack_lowest_in)
                stack_lowest_in = low;
        }
        if (arena_open && vaddr < arena_span.hi && end > arena_span.lo) {
            uint64_t from = (vaddr > arena_span.lo ? vaddr : arena_span.lo) - arena_span.lo;
            uint64_t to = (end < arena_span.hi ? end : arena_span.hi) - arena_span.lo;
            mark(arena_bits, from, to);
            if (inside)
                mark(arena_bits_in, from, to);
        }
    }
    if (vaddr < heap_span.hi && end > heap_span.lo) {
        uint64_t top = end < heap_span.hi ? end : heap_span.hi;
        if (top > heap_end)
            heap_end = top;
        if (inside && top > heap_end_in)
            heap_end_in = top;
    }
}

static uint64_t count_bits(const uint8_t *bits, uint64_t n)
{
    uint64_t total = 0;
    for (uint64_t k = 0; k < (n + 7) / 8; k++)
        total += (uint64_t)__builtin_popcount(bits[k]);
    return total;
}

static void write_addr(FILE *f, const char *key, uint64_t value, uint64_t none)
{
    if (value == none)
        fprintf(f, "\"%s\": null", key);
    else
        fprintf(f, "\"%s\": \"0x%" PRIx64 "\"", key, value);
}

void memtrace_write_json(FILE *f)
{
    if (!memtrace_enabled())
        return;
    fprintf(f, ",\n  \"memtrace\": {\"region\": \"");
    for (const char *c = region_name; *c; c++)
        if (*c != '"' && *c != '\\' && (unsigned char)*c >= 0x20)
            fputc(*c, f);
    fprintf(f, "\", \"region_known\": %s, \"loads\": %" PRIu64 ", \"stores\": %" PRIu64,
            region_active ? "true" : "false", loads, stores);
    if (stack_span.given) {
        const span_t *s = &stack_span;
        fprintf(f, ",\n    \"stack\": {\"low\": \"0x%" PRIx64 "\", \"high\": \"0x%" PRIx64 "\", ", s->lo, s->hi);
        write_addr(f, "lowest_write", stack_lowest, UINT64_MAX);
        fprintf(f, ", \"high_water\": %" PRIu64 ", \"region_high_water\": %" PRIu64 "}",
                stack_lowest == UINT64_MAX ? 0 : s->hi - stack_lowest,
                stack_lowest_in == UINT64_MAX ? 0 : s->hi - stack_lowest_in);
    }
    if (heap_span.given) {
        const span_t *s = &heap_span;
        fprintf(f, ",\n    \"heap\": {\"low\": \"0x%" PRIx64 "\", \"high\": \"0x%" PRIx64 "\", ", s->lo, s->hi);
        write_addr(f, "end_touched", heap_end, 0);
        fprintf(f, ", \"high_water\": %" PRIu64 ", \"region_high_water\": %" PRIu64 "}",
                heap_end ? heap_end - s->lo : 0, heap_end_in ? heap_end_in - s->lo : 0);
    }
    if (arena_span.given) {
        const span_t *s = &arena_span;
        uint64_t n = s->hi - s->lo;
        fprintf(f, ",\n    \"arena\": {\"low\": \"0x%" PRIx64 "\", \"high\": \"0x%" PRIx64 "\", \"size\": %" PRIu64
                   ", \"touched\": %" PRIu64 ", \"region_touched\": %" PRIu64 "}",
                s->lo, s->hi, n, count_bits(arena_bits, n), count_bits(arena_bits_in, n));
    }
    fprintf(f, "}");
}
