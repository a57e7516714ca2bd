/*
 * Memory trace of the instruction-count plugin (the feature `trace`): summaries of the guest's
 * loads and stores kept while it runs, never a per-access log. insncount.c registers
 * memtrace_access() as the memory callback of every instruction only when a trace_* argument
 * was given, so a run without them keeps its usual callbacks.
 */
#ifndef MCUORCH_MEMTRACE_H
#define MCUORCH_MEMTRACE_H

#include <stdint.h>
#include <stdio.h>

#include "qemu_plugin_api.h"

/* 1: `arg` was a trace argument and is valid; 0: not a trace argument; -1: a bad one. */
int memtrace_arg(const char *arg);
/* Whether any trace_* span was given (then the memory callback is needed). */
int memtrace_enabled(void);
/* The region (by name, trace_region=, default run) whose entries get separate figures. */
const char *memtrace_region_name(void);
/* Where to read whether that region is active (NULL: the program has no such region). */
void memtrace_watch_region(const int *active);
/* A region was entered: from now on arena writes count (crt0 zeroes .bss, the static arena
   included, before main; those writes are start-up, not the model's). */
void memtrace_region_entered(void);
/* One guest access of 2^size_shift bytes at vaddr. */
void memtrace_access(qemu_plugin_meminfo_t info, uint64_t vaddr);
/* Appends `,\n  "memtrace": {...}` to the plugin's JSON result. */
void memtrace_write_json(FILE *f);

#endif
