/*
 * Linux host: the benchmark body runs on a thread whose stack we allocate and paint with a
 * pattern; afterwards the deepest byte that no longer holds the pattern bounds the stack the body
 * used. The figure is measured from the body's own first frame, so glibc's thread control block
 * (kept at the top of a user-supplied stack) and thread start-up frames are not counted.
 */
#define _POSIX_C_SOURCE 200809L
#include "platform.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifndef MCUORCH_STACK_SIZE
#define MCUORCH_STACK_SIZE (1024 * 1024)
#endif

#define PAINT 0xA5u

uint64_t mcuorch_platform_time_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

struct job {
    void (*body)(void *);
    void *arg;
    uintptr_t base; /* address in the body's caller frame: the top of what we measure */
};

static void *trampoline(void *p)
{
    struct job *job = p;
    volatile unsigned char anchor = 0;
    job->base = (uintptr_t)&anchor;
    job->body(job->arg);
    return NULL;
}

int mcuorch_platform_run(void (*body)(void *), void *arg, size_t *stack_used)
{
    struct job job = {body, arg, 0};
    size_t size = MCUORCH_STACK_SIZE;
    void *block = NULL;
    unsigned char *stack = posix_memalign(&block, 4096, size) == 0 ? block : NULL;
    pthread_attr_t attr;
    pthread_t thread;

    *stack_used = 0;
    if (stack != NULL)
        memset(stack, PAINT, size);
    if (stack == NULL || pthread_attr_init(&attr) != 0 ||
        pthread_attr_setstack(&attr, stack, size) != 0 ||
        pthread_create(&thread, &attr, trampoline, &job) != 0) {
        /* No measuring thread: still run the benchmark, just without a stack figure. */
        free(stack);
        body(arg);
        return -1;
    }
    pthread_join(thread, NULL);
    pthread_attr_destroy(&attr);

    size_t low = 0;
    while (low < size && stack[low] == PAINT)
        low++;
    uintptr_t deepest = (uintptr_t)(stack + low);
    *stack_used = (job.base > deepest) ? (size_t)(job.base - deepest) : 0;
    free(stack);
    return low == 0 ? -1 : 0; /* pattern gone at the very bottom: the stack may have overflowed */
}
