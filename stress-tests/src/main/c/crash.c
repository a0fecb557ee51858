/* crash: writes one line with write(2), then stores through NULL. Natively the process dies by
 * SIGSEGV (status 139 as seen by Java); under herd the same, plus one report line on stderr. */
#include <unistd.h>

int main(void) {
    static const char msg[] = "about to crash\n";
    write(1, msg, sizeof msg - 1);
    *(volatile int *)0 = 1;
    return 0;
}
