/* uname: fields that do not differ between the host kernel and an emulator. */
#include "guest.h"
#include <sys/utsname.h>
#include <unistd.h>

int main(void) {
    struct utsname u;
    CHECK(uname(&u) == 0, "uname");
    printf("sysname=%s\n", u.sysname);
    CHECK(u.nodename[0] != 0, "nodename non-empty");
    CHECK(u.release[0] >= '2' && u.release[0] <= '9', "release starts with a digit >= 2");
    char host[256];
    CHECK(gethostname(host, sizeof host) == 0 && strcmp(host, u.nodename) == 0, "gethostname == nodename");
    return guest_done();
}
