/*
 * raise() for the platforms without an operating-system library (htif, etiss): picolibc's
 * raise() asks the OS to deliver a signal that has no handler, and abort() (reached e.g. from
 * the C++ runtime's std::terminate) relies on it. The program ends with exit code 128 + the
 * signal, as a shell reports a killed process. Unused in C programs (the linker drops it).
 */
#include <signal.h>
#include <unistd.h>

pid_t getpid(void) { return 1; }

int kill(pid_t pid, int sig)
{
    (void)pid;
    _exit(128 + sig);
}
