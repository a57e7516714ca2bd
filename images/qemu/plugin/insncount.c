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
 *   mode=tb|insn              tb (default): inline add per block; insn: a callback per
 *                             instruction, slow, kept to cross-check the tb mode
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static void on_insn(unsigned int vcpu, void *udata)
{
    (void)vcpu;
    (void)udata;
    insn_total++;
}

static void on_marker(unsigned int vcpu, void *udata)
{
    const marker_t *m = udata;
    region_t *r = m->region;
    /* Instructions executed before the marker instruction. In tb mode the block's inline add has
       already counted the whole block, so the rest of the block is taken off. In the per-insn
       modes whether this instruction is already counted is the same at every marker, and a
       constant offset cancels in end - begin. */
    uint64_t before = mode == MODE_TB ? insn_total - m->remaining : insn_total;
    (void)vcpu;
    if (!m->is_end) {
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

static void on_store(unsigned int vcpu, qemu_plugin_meminfo_t info, uint64_t vaddr, void *udata)
{
    (void)vcpu;
    (void)info;
    (void)udata;
    if (vaddr >= stack_lo && vaddr < stack_hi) {
        stack_stores++;
        if (vaddr < lowest_store)
            lowest_store = vaddr;
    }
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

static void on_tb_translate(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
    size_t n = qemu_plugin_tb_n_insns(tb);
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
        for (int k = 0; k < n_regions; k++) {
            if (vaddr == regions[k].begin)
                add_marker(insn, &regions[k], 0, n - i);
            if (vaddr == regions[k].end)
                add_marker(insn, &regions[k], 1, n - i);
        }
        if (track_stack)
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
    qemu_plugin_register_vcpu_tb_trans_cb(id, on_tb_translate);
    qemu_plugin_register_atexit_cb(id, on_exit_write, NULL);
    return 0;
}
