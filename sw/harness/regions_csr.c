/*
 * Instruction counts of the Setup and Run regions from instret (markers in regions_csr.S),
 * printed at exit as one line the RUN stage's runner turns into counts.json:
 *   mcuorch-instret setup=<n>[,<n>...] run=<n>[,<n>...] total=<n>
 * (one value per region entry; Run is entered once per golden vector).
 */
#include "regions.h"

#include <stdint.h>
#include <stdio.h>

#define MAX_ENTRIES 64

uint32_t mcuorch_csr_stamp[8]; /* lo/hi pairs: setup begin, setup end, run begin, run end */
volatile uint32_t mcuorch_region_state;

static uint64_t counts[2][MAX_ENTRIES];
static unsigned entries[2];

static uint64_t stamp(int slot)
{
    return ((uint64_t)mcuorch_csr_stamp[2 * slot + 1] << 32) | mcuorch_csr_stamp[2 * slot];
}

static uint64_t instret_now(void)
{
    uint32_t hi, lo, hi2;
    do {
        __asm__ volatile(".option push\n.option arch, +zicsr\n"
                         "csrr %0, instreth\ncsrr %1, instret\ncsrr %2, instreth\n.option pop"
                         : "=r"(hi), "=r"(lo), "=r"(hi2));
    } while (hi != hi2);
    return ((uint64_t)hi << 32) | lo;
}

/* Called by an end marker (slot 1 or 3) after it stored its stamp. */
void mcuorch_region_close(int slot)
{
    int region = slot / 2;
    uint64_t begin = stamp(slot - 1), end = stamp(slot);
    uint64_t delta = end - begin;
    if ((int64_t)delta < 0 || delta >= (1ull << 32) + (1ull << 31))
        delta = (uint32_t)(mcuorch_csr_stamp[2 * slot] - mcuorch_csr_stamp[2 * (slot - 1)]);
    mcuorch_region_state = region ? 0x20u : 0x10u;
    if (entries[region] < MAX_ENTRIES)
        counts[region][entries[region]] = delta;
    entries[region]++;
}

static void print_list(const char *name, int region)
{
    unsigned n = entries[region] < MAX_ENTRIES ? entries[region] : MAX_ENTRIES;
    printf(" %s=", name);
    for (unsigned i = 0; i < n; i++)
        printf(i ? ",%lu" : "%lu", (unsigned long)counts[region][i]);
}

void mcuorch_regions_report(void)
{
    uint64_t total = instret_now();
    printf("mcuorch-instret");
    print_list("setup", 0);
    print_list("run", 1);
    printf(" total=%lu%s\n", (unsigned long)total, total >> 32 ? "+" : "");
}
