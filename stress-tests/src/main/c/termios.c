/* termios: the terminal ioctls through a pseudo-terminal pair -- TCGETS/TCSETS (tcgetattr,
 * tcsetattr with cfmakeraw), TIOCSWINSZ/TIOCGWINSZ, TIOCGPTN, FIONREAD, TCFLSH -- whose numbers
 * and struct termios/winsize layouts a guest architecture's kernel defines. */
#include "guest.h"
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

int main(void) {
    int master = posix_openpt(O_RDWR | O_NOCTTY);
    CHECK(master >= 0, "posix_openpt");
    if (master < 0) return guest_done();
    CHECK(grantpt(master) == 0 && unlockpt(master) == 0, "grantpt + unlockpt");
    unsigned int ptn = 0;
    CHECK(ioctl(master, TIOCGPTN, &ptn) == 0, "TIOCGPTN");
    char *name = ptsname(master);
    CHECK(name != NULL && strncmp(name, "/dev/pts/", 9) == 0 && (unsigned)atoi(name + 9) == ptn,
          "ptsname is /dev/pts/<TIOCGPTN>");
    int slave = open(name, O_RDWR | O_NOCTTY);
    CHECK(slave >= 0, "open the slave");
    if (slave < 0) return guest_done();
    CHECK(isatty(slave) == 1, "isatty(slave)");

    struct termios t;
    CHECK(tcgetattr(slave, &t) == 0, "tcgetattr (TCGETS)");
    CHECK((t.c_lflag & ICANON) && (t.c_lflag & ECHO), "a new pty is canonical with echo");
    CHECK(t.c_cc[VINTR] == 3 && t.c_cc[VEOF] == 4, "default VINTR ^C and VEOF ^D");
    cfmakeraw(&t);
    t.c_cc[VMIN] = 1;
    t.c_cc[VTIME] = 0;
    CHECK(tcsetattr(slave, TCSANOW, &t) == 0, "tcsetattr raw (TCSETS)");
    struct termios back;
    CHECK(tcgetattr(slave, &back) == 0 && !(back.c_lflag & (ICANON | ECHO)) && back.c_cc[VMIN] == 1,
          "raw mode reads back");
    CHECK(cfsetospeed(&back, B9600) == 0 && tcsetattr(slave, TCSANOW, &back) == 0, "set 9600 baud");
    CHECK(tcgetattr(slave, &back) == 0 && cfgetospeed(&back) == B9600, "9600 baud reads back");

    struct winsize ws = {.ws_row = 42, .ws_col = 132, .ws_xpixel = 7, .ws_ypixel = 9}, got;
    CHECK(ioctl(master, TIOCSWINSZ, &ws) == 0, "TIOCSWINSZ on the master");
    memset(&got, 0, sizeof got);
    CHECK(ioctl(slave, TIOCGWINSZ, &got) == 0 && got.ws_row == 42 && got.ws_col == 132 && got.ws_xpixel == 7
          && got.ws_ypixel == 9, "TIOCGWINSZ on the slave sees it");

    CHECK(write(master, "abc", 3) == 3, "write 3 bytes to the master");
    int avail = -1;
    for (int i = 0; i < 100 && avail != 3; i++) {
        ioctl(slave, FIONREAD, &avail);
        if (avail != 3) usleep(1000);
    }
    CHECK(avail == 3, "FIONREAD on the slave: 3");
    char buf[8];
    CHECK(read(slave, buf, sizeof buf) == 3 && memcmp(buf, "abc", 3) == 0, "raw read of the 3 bytes");
    CHECK(write(master, "xyz", 3) == 3, "write 3 more bytes");
    avail = -1; /* the pty moves them to the slave's queue asynchronously: wait, then flush */
    for (int i = 0; i < 100 && avail != 3; i++) {
        ioctl(slave, FIONREAD, &avail);
        if (avail != 3) usleep(1000);
    }
    CHECK(avail == 3 && tcflush(slave, TCIFLUSH) == 0, "TCFLSH of 3 pending bytes");
    avail = -1;
    CHECK(ioctl(slave, FIONREAD, &avail) == 0 && avail == 0, "nothing left to read after the flush");
    close(slave);
    close(master);
    return guest_done();
}
