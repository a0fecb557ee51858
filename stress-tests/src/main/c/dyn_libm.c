/* dyn_libm: a dynamically linked program (lazy binding: -z lazy) whose first calls of libm and
 * libc functions pass and return floating-point values in XMM registers. Every first call goes
 * through glibc's lazy-binding trampoline, which saves and restores the argument registers with
 * fxsave/fxrstor on a CPU without XSAVE: a CPU running with CR4.OSFXSR clear loses them (log(10)
 * printed -733.35 under herd). Values are printed exactly (%a) and compared with native. */
#include "guest.h"
#include <math.h>
#include <stdlib.h>

int main(int argc, char **argv) {
    volatile double ten = 10.0, half = 0.5, two = 2.0, three = 3.0;
    volatile float tenf = 10.0f;
    printf("log(10) = %a\n", log(ten));
    printf("exp(0.5) = %a\n", exp(half));
    printf("pow(2, 0.5) = %a\n", pow(two, half));
    printf("sin(3) = %a\n", sin(three));
    printf("cos(3) = %a\n", cos(three));
    printf("atan2(0.5, 3) = %a\n", atan2(half, three));
    printf("hypot(2, 3) = %a\n", hypot(two, three));
    printf("fma(2, 3, 0.5) = %a\n", fma(two, three, half));
    printf("logf(10) = %a\n", (double)logf(tenf));
    printf("ldexp(3, 10) = %a\n", ldexp(three, 10));
    printf("strtod(\"12.5e3\") = %a\n", strtod("12.5e3", NULL));
    printf("atof(\"-0.125\") = %a\n", atof("-0.125"));
    CHECK(fabs(log(ten) - 2.302585092994046) < 1e-15, "log(10) = ln 10");
    CHECK(pow(two, 10.0) == 1024.0, "pow(2, 10) = 1024");
    return guest_done();
}
