/*
 * Platforms without an operating-system layer (htif, etiss, pk): picolibc's abort() raises
 * SIGABRT through kill(getpid(), sig). Code that can abort (C++ runtime libraries: a pure
 * virtual call, TFLite-Micro's TFLITE_ABORT) links against these; the program then ends with
 * a line saying so and exit status 128 + signal, which the host reports as a crash.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/types.h>
#include <unistd.h>

pid_t getpid(void) { return 1; }

int kill(pid_t pid, int sig)
{
    (void)pid;
    printf("error: program aborted (signal %d)\n", sig);
    fflush(stdout);
    _exit(128 + sig);
}
