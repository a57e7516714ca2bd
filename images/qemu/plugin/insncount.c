/*
 * mcuorch instruction-count plugin for QEMU (TCG plugin API v1).
 *
 * Counts every executed guest instruction with one inline add per translated block (no helper
 * call, so it costs next to nothing), attributes counts to regions delimited by marker
 * addresses, and records the lowest address stored to inside the stack range. Counts are exact
 * and identical across runs when QEMU runs with -icount shift=0 (deterministic execution).
 *
 * Arguments (-plugin libinsncount.so,key=value,...):
 *   out=PATH                  where to write the JSON result at exit (required)
 *   region=NAME:BEGIN:END     hex addresses of the first instruction of the begin and end
 *                             markers; a region entry counts the instructions executed from
 *                             BEGIN up to, not including, END (repeatable, at most 8)
 *   stack=LO:HI               stores to [LO, HI) are stack stores (hex); optional
 *   mode=tb|inline|callback   tb (default): inline add per block; inline: an inline add per
 *                             instruction (exact around MMIO re-execution); callback: a C
 *                             callback per instruction, slow, kept to cross-check the others
 *   ranges=PATH               profile: a text file of PC ranges, one `ID ENTRY LO HI` per line
 *                             (ID decimal, from 0; addresses hex; [LO, HI) is code of function
 *                             ID, ENTRY its first instruction; several lines may share an ID)
 *   profile=NAME              the region whose entries are profiled (default: run)
 *   trace_stack=, trace_heap=, trace_arena=, trace_region=
 *                             memory trace summaries (memtrace.c); without them the memory
 *                             callbacks are the stack watch's alone, as before
 *
 * Profile: while the profiled region is active, every change of PC range (or from a range to
 * code outside every range, "glue") closes a segment (ID, entered at ENTRY?, instructions). A
 * change is noticed by a callback at the first instruction of every translated block and at
 * every instruction whose range differs from the previous one in its block, so only block
 * starts cost a call; without ranges= nothing of this is registered. Segments are kept in
 * memory (not per instruction) and written per region entry at exit, with exact totals per ID.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "memtrace.h"
#include "qemu_plugin_api.h"

QEMU_PLUGIN_EXPORT int qemu_plugin_version = 1;

#define MAX_REGIONS 8
#define MAX_ENTRIES 100000 /* per-entry counts kept per region; sums are kept regardless */

typedef struct {
    char name[32];
    uint64_t begin, end;
    int active;
    uint64_t start;   /* instruction count when the current entry began */
    uint64_t entries; /* completed entries */
    uint64_t sum;
    uint64_t *per_entry;
} region_t;

typedef struct {
    region_t *region;
    int is_end;
    uint64_t remaining; /* instructions of the block from this one to its end (tb mode) */
} marker_t;

static uint64_t insn_total;
static region_t regions[MAX_REGIONS];
static int n_regions;
enum mode { MODE_TB, MODE_INLINE, MODE_CALLBACK };
static enum mode mode = MODE_TB;
static const char *const mode_names[] = {"tb", "inline", "callback"};
static int track_stack;
static uint64_t stack_lo, stack_hi, lowest_store = UINT64_MAX;
static uint64_t stack_stores;
static const char *out_path;
static const char *target_name = "";
static int tracing; /* a trace_* argument was given: on_access replaces on_store */

/* Profile state (ranges=). */
#define GLUE (-1)
#define MAX_SEGMENTS (1u << 24) /* per run; totals stay exact beyond it */
typedef struct {
    uint64_t lo, hi;
    int32_t id;
} prange_t;
typedef struct {
    int32_t id; /* GLUE, a range ID, or SEPARATOR between region entries */
    uint32_t at_entry;
    uint64_t count;
} segment_t;
#define SEPARATOR (-2)
static prange_t *pranges;
static size_t n_pranges;
static uint64_t *id_entry; /* entry address per ID */
static uint64_t *id_total; /* instructions per ID over all profiled entries */
static uint64_t glue_total;
static int32_t n_ids;
static const char *profile_name = "run";
static region_t *profiled;
static int prof_active, prof_truncated;
static int32_t cur_id;
static uint32_t cur_at_entry;
static uint64_t seg_start;
static segment_t *segments;
static size_t n_segments, cap_segments;

static void on_insn(unsigned int vcpu, void *udata)
{
    (void)vcpu;
    (void)udata;
    insn_total++;
}

/* Instructions executed before an instruction that still has `remaining` instructions of its
   block to run (itself included). In tb mode the block's inline add has already counted the
   whole block; in the per-instruction modes whether the instruction itself is already counted
   is the same at every boundary, so a constant offset cancels in every difference. */
static uint64_t position(uint64_t remaining)
{
    return mode == MODE_TB ? insn_total - remaining : insn_total;
}

static void push_segment(int32_t id, uint32_t at_entry, uint64_t count)
{
    if (n_segments == cap_segments) {
        size_t cap = cap_segments ? 2 * cap_segments : 4096;
        segment_t *grown = cap <= MAX_SEGMENTS ? realloc(segments, cap * sizeof *grown) : NULL;
        if (grown == NULL) {
            prof_truncated = 1;
            return;
        }
        segments = grown;
        cap_segments = cap;
    }
    segments[n_segments++] = (segment_t){id, at_entry, count};
}

static void close_segment(uint64_t now)
{
    uint64_t count = now - seg_start;
    if (count == 0)
        return;
    if (cur_id == GLUE)
        glue_total += count;
    else
        id_total[cur_id] += count;
    push_segment(cur_id, cur_at_entry, count);
}

/* udata of a range-change callback: ID + 1, entry flag and the block's remaining count packed
   into one word (a block has at most 512 instructions), so no allocation per block. */
static void *pack_change(int32_t id, int at_entry, uint64_t remaining)
{
    return (void *)(uintptr_t)(((uint64_t)(id + 1) << 12) | (remaining << 1) | (at_entry ? 1 : 0));
}

static void on_range_change(unsigned int vcpu, void *udata)
{
    uint64_t packed = (uint64_t)(uintptr_t)udata;
    int32_t id = (int32_t)(packed >> 12) - 1;
    (void)vcpu;
    if (!prof_active || id == cur_id)
        return;
    uint64_t now = position((packed >> 1) & 0x7ff);
    close_segment(now);
    cur_id = id;
    cur_at_entry = packed & 1;
    seg_start = now;
}

static void on_marker(unsigned int vcpu, void *udata)
{
    const marker_t *m = udata;
    region_t *r = m->region;
    /* Instructions executed before the marker instruction (see position()). */
    uint64_t before = position(m->remaining);
    (void)vcpu;
    if (r == profiled && n_ids > 0) {
        if (!m->is_end) { /* the markers are harness code: a region entry starts in glue */
            prof_active = 1;
            cur_id = GLUE;
            cur_at_entry = 0;
            seg_start = before;
        } else if (prof_active) {
            close_segment(before);
            push_segment(SEPARATOR, 0, 0);
            prof_active = 0;
        }
    }
    if (!m->is_end) {
        if (tracing)
            memtrace_region_entered();
        r->start = before;
        r->active = 1;
    } else if (r->active) {
        uint64_t delta = before - r->start;
        if (r->entries < MAX_ENTRIES)
            r->per_entry[r->entries] = delta;
        r->entries++;
        r->sum += delta;
        r->active = 0;
    }
}

/* QEMU 7.2 also calls a QEMU_PLUGIN_MEM_W callback for loads: only stores count. */
static void on_store(unsigned int vcpu, qemu_plugin_meminfo_t info, uint64_t vaddr, void *udata)
{
    (void)vcpu;
    (void)udata;
    if (!qemu_plugin_mem_is_store(info))
        return;
    if (vaddr >= stack_lo && vaddr < stack_hi) {
        stack_stores++;
        if (vaddr < lowest_store)
            lowest_store = vaddr;
    }
}

/* The memory callback with a trace: the stack watch above on stores, then the trace. */
static void on_access(unsigned int vcpu, qemu_plugin_meminfo_t info, uint64_t vaddr, void *udata)
{
    if (track_stack)
        on_store(vcpu, info, vaddr, udata);
    memtrace_access(info, vaddr);
}

static void add_marker(struct qemu_plugin_insn *insn, region_t *r, int is_end, uint64_t remaining)
{
    marker_t *m = malloc(sizeof *m); /* lives as long as the translation may run: never freed */
    if (m == NULL) {
        fprintf(stderr, "insncount: out of memory\n");
        abort();
    }
    m->region = r;
    m->is_end = is_end;
    m->remaining = remaining;
    qemu_plugin_register_vcpu_insn_exec_cb(insn, on_marker, QEMU_PLUGIN_CB_NO_REGS, m);
}

/* The range ID of an instruction address (binary search over the sorted ranges), or GLUE. */
static int32_t range_of(uint64_t vaddr)
{
    size_t lo = 0, hi = n_pranges;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (vaddr < pranges[mid].lo)
            hi = mid;
        else if (vaddr >= pranges[mid].hi)
            lo = mid + 1;
        else
            return pranges[mid].id;
    }
    return GLUE;
}

static void on_tb_translate(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
    size_t n = qemu_plugin_tb_n_insns(tb);
    int32_t prev = GLUE;
    (void)id;
    if (mode == MODE_TB)
        qemu_plugin_register_vcpu_tb_exec_inline(tb, QEMU_PLUGIN_INLINE_ADD_U64, &insn_total, n);
    for (size_t i = 0; i < n; i++) {
        struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
        uint64_t vaddr = qemu_plugin_insn_vaddr(insn);
        if (mode == MODE_INLINE)
            qemu_plugin_register_vcpu_insn_exec_inline(insn, QEMU_PLUGIN_INLINE_ADD_U64,
                                                       &insn_total, 1);
        if (mode == MODE_CALLBACK) /* registered first, so it runs before a marker on the insn */
            qemu_plugin_register_vcpu_insn_exec_cb(insn, on_insn, QEMU_PLUGIN_CB_NO_REGS, NULL);
        if (n_ids > 0) {
            int32_t here = range_of(vaddr);
            if (i == 0 || here != prev)
                qemu_plugin_register_vcpu_insn_exec_cb(
                    insn, on_range_change, QEMU_PLUGIN_CB_NO_REGS,
                    pack_change(here, here != GLUE && vaddr == id_entry[here], n - i));
            prev = here;
        }
        for (int k = 0; k < n_regions; k++) {
            if (vaddr == regions[k].begin)
                add_marker(insn, &regions[k], 0, n - i);
            if (vaddr == regions[k].end)
                add_marker(insn, &regions[k], 1, n - i);
        }
        if (tracing)
            qemu_plugin_register_vcpu_mem_cb(insn, on_access, QEMU_PLUGIN_CB_NO_REGS,
                                             QEMU_PLUGIN_MEM_RW, NULL);
        else if (track_stack)
            qemu_plugin_register_vcpu_mem_cb(insn, on_store, QEMU_PLUGIN_CB_NO_REGS,
                                             QEMU_PLUGIN_MEM_W, NULL);
    }
}

static void write_json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            fputc('\\', f);
        if ((unsigned char)*s >= 0x20)
            fputc(*s, f);
    }
    fputc('"', f);
}

/* "profile": per ID totals, glue, and the segments of every profiled region entry. */
static void write_profile(FILE *f)
{
    fprintf(f, ",\n  \"profile\": {\"region\": ");
    write_json_string(f, profile_name);
    fprintf(f, ", \"truncated\": %s, \"glue\": %" PRIu64 ", \"totals\": [",
            prof_truncated ? "true" : "false", glue_total);
    for (int32_t k = 0; k < n_ids; k++)
        fprintf(f, "%s%" PRIu64, k ? ", " : "", id_total[k]);
    fprintf(f, "],\n    \"entries\": [");
    int entries = 0, open = 0;
    for (size_t k = 0; k < n_segments; k++) {
        const segment_t *g = &segments[k];
        if (!open) {
            fprintf(f, "%s\n      [", entries++ ? "," : "");
            open = 1;
        } else if (g->id != SEPARATOR) {
            fprintf(f, ", ");
        }
        if (g->id == SEPARATOR) {
            fprintf(f, "]");
            open = 0;
            continue;
        }
        fprintf(f, "[%" PRId32 ", %" PRIu32 ", %" PRIu64 "]", g->id, g->at_entry, g->count);
    }
    if (open)
        fprintf(f, "]"); /* an entry still running at exit */
    fprintf(f, "\n    ]}");
}

static void on_exit_write(qemu_plugin_id_t id, void *udata)
{
    (void)id;
    (void)udata;
    FILE *f = fopen(out_path, "w");
    if (f == NULL) {
        fprintf(stderr, "insncount: cannot write %s: %s\n", out_path, strerror(errno));
        return;
    }
    fprintf(f, "{\n  \"format\": \"mcuorch-insncount-1\",\n  \"qemu_target\": ");
    write_json_string(f, target_name);
    fprintf(f, ",\n  \"mode\": \"%s\",\n  \"total_instructions\": %" PRIu64 ",\n",
            mode_names[mode], insn_total);
    fprintf(f, "  \"regions\": {");
    for (int k = 0; k < n_regions; k++) {
        region_t *r = &regions[k];
        uint64_t kept = r->entries < MAX_ENTRIES ? r->entries : MAX_ENTRIES;
        fprintf(f, "%s\n    ", k ? "," : "");
        write_json_string(f, r->name);
        fprintf(f,
                ": {\"begin\": \"0x%" PRIx64 "\", \"end\": \"0x%" PRIx64 "\", \"entries\": %" PRIu64
                ", \"open\": %s, \"instructions\": %" PRIu64 ", \"per_entry\": [",
                r->begin, r->end, r->entries, r->active ? "true" : "false", r->sum);
        for (uint64_t e = 0; e < kept; e++)
            fprintf(f, "%s%" PRIu64, e ? ", " : "", r->per_entry[e]);
        fprintf(f, "]}");
    }
    fprintf(f, "\n  }");
    if (n_ids > 0)
        write_profile(f);
    if (track_stack) {
        fprintf(f, ",\n  \"stack\": {\"low\": \"0x%" PRIx64 "\", \"high\": \"0x%" PRIx64 "\", ",
                stack_lo, stack_hi);
        if (lowest_store == UINT64_MAX)
            fprintf(f, "\"lowest_store\": null, \"high_water\": 0, ");
        else
            fprintf(f, "\"lowest_store\": \"0x%" PRIx64 "\", \"high_water\": %" PRIu64 ", ",
                    lowest_store, stack_hi - lowest_store);
        fprintf(f, "\"stores\": %" PRIu64 "}", stack_stores);
    }
    memtrace_write_json(f);
    fprintf(f, "\n}\n");
    if (fclose(f) != 0)
        fprintf(stderr, "insncount: cannot write %s: %s\n", out_path, strerror(errno));
}

static int parse_hex(const char *s, uint64_t *out, char stop)
{
    char *end;
    errno = 0;
    *out = strtoull(s, &end, 16);
    return errno == 0 && end != s && *end == stop ? (int)(end - s) : -1;
}

static int parse_region(const char *spec)
{
    const char *colon = strchr(spec, ':');
    if (n_regions >= MAX_REGIONS || colon == NULL || colon == spec ||
        (size_t)(colon - spec) >= sizeof regions[0].name)
        return -1;
    region_t *r = &regions[n_regions];
    memcpy(r->name, spec, (size_t)(colon - spec));
    r->name[colon - spec] = '\0';
    int len = parse_hex(colon + 1, &r->begin, ':');
    if (len < 0 || parse_hex(colon + 2 + len, &r->end, '\0') < 0)
        return -1;
    r->per_entry = calloc(MAX_ENTRIES, sizeof *r->per_entry);
    if (r->per_entry == NULL)
        return -1;
    n_regions++;
    return 0;
}

static int compare_ranges(const void *a, const void *b)
{
    const prange_t *x = a, *y = b;
    return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* Reads `ID ENTRY LO HI` lines; ranges must not overlap. */
static int load_ranges(const char *path)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        fprintf(stderr, "insncount: cannot read %s: %s\n", path, strerror(errno));
        return -1;
    }
    size_t cap = 0;
    int32_t id;
    uint64_t entry, lo, hi;
    int got;
    while ((got = fscanf(f, "%" SCNd32 " %" SCNx64 " %" SCNx64 " %" SCNx64, &id, &entry, &lo, &hi)) == 4) {
        if (id < 0 || id > 100000 || lo >= hi)
            break;
        if (n_pranges == cap) {
            cap = cap ? 2 * cap : 64;
            prange_t *grown = realloc(pranges, cap * sizeof *grown);
            if (grown == NULL)
                break;
            pranges = grown;
        }
        pranges[n_pranges++] = (prange_t){lo, hi, id};
        if (id >= n_ids) {
            uint64_t *e = realloc(id_entry, (size_t)(id + 1) * sizeof *e);
            if (e == NULL)
                break;
            id_entry = e;
            for (int32_t k = n_ids; k <= id; k++)
                id_entry[k] = UINT64_MAX;
            n_ids = id + 1;
        }
        id_entry[id] = entry;
    }
    int at_end = got == EOF && !ferror(f);
    fclose(f);
    if (!at_end) {
        fprintf(stderr, "insncount: bad line in %s (want `ID ENTRY LO HI`)\n", path);
        return -1;
    }
    qsort(pranges, n_pranges, sizeof *pranges, compare_ranges);
    for (size_t k = 1; k < n_pranges; k++)
        if (pranges[k].lo < pranges[k - 1].hi) {
            fprintf(stderr, "insncount: overlapping ranges in %s\n", path);
            return -1;
        }
    id_total = calloc((size_t)n_ids + 1, sizeof *id_total);
    return id_total == NULL ? -1 : 0;
}

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info, int argc,
                                           char **argv)
{
    if (info->system_emulation && info->system.smp_vcpus != 1) {
        fprintf(stderr, "insncount: needs exactly one vCPU (got %d)\n", info->system.smp_vcpus);
        return -1;
    }
    target_name = info->target_name ? info->target_name : "";
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        int ok = 0;
        if (strncmp(a, "out=", 4) == 0) {
            out_path = a + 4;
            ok = *out_path != '\0';
        } else if (strncmp(a, "region=", 7) == 0) {
            ok = parse_region(a + 7) == 0;
        } else if (strncmp(a, "stack=", 6) == 0) {
            int len = parse_hex(a + 6, &stack_lo, ':');
            ok = len >= 0 && parse_hex(a + 7 + len, &stack_hi, '\0') >= 0 && stack_lo < stack_hi;
            track_stack = ok;
        } else if (strncmp(a, "ranges=", 7) == 0) {
            ok = load_ranges(a + 7) == 0;
        } else if (strncmp(a, "profile=", 8) == 0) {
            profile_name = a + 8;
            ok = *profile_name != '\0';
        } else if ((ok = memtrace_arg(a)) != 0) {
            ok = ok > 0;
        } else if (strncmp(a, "mode=", 5) == 0) {
            for (int k = 0; k < 3; k++)
                if (strcmp(a + 5, mode_names[k]) == 0) {
                    mode = (enum mode)k;
                    ok = 1;
                }
        }
        if (!ok) {
            fprintf(stderr, "insncount: bad argument '%s'\n", a);
            return -1;
        }
    }
    if (out_path == NULL) {
        fprintf(stderr, "insncount: missing out=PATH\n");
        return -1;
    }
    if (n_ids > 0) {
        for (int k = 0; k < n_regions; k++)
            if (strcmp(regions[k].name, profile_name) == 0)
                profiled = &regions[k];
        if (profiled == NULL) {
            fprintf(stderr, "insncount: profile=%s names no region\n", profile_name);
            return -1;
        }
    }
    tracing = memtrace_enabled();
    for (int k = 0; tracing && k < n_regions; k++)
        if (strcmp(regions[k].name, memtrace_region_name()) == 0)
            memtrace_watch_region(&regions[k].active);
    qemu_plugin_register_vcpu_tb_trans_cb(id, on_tb_translate);
    qemu_plugin_register_atexit_cb(id, on_exit_write, NULL);
    return 0;
}
