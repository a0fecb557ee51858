/* sig_mask: the signal mask inside a handler and after it. Inside: the caller's mask | sa_mask |
 * the signal itself (unless SA_NODEFER); uc_sigmask holds the interrupted mask; after the handler
 * the mask is exactly the interrupted one again, or what the handler wrote into uc_sigmask
 * (minus SIGKILL/SIGSTOP). Without SA_NODEFER a raise of the same signal inside the handler waits
 * until it returns; with SA_NODEFER it nests. SA_RESETHAND resets the action to SIG_DFL on
 * delivery (sigaction then reports SIG_DFL). */
#include "guest.h"
#include <signal.h>
#include <ucontext.h>
#include <unistd.h>

static sigset_t inside, uc_mask;
static volatile int depth, max_depth, calls;
static char order[64];
static volatile int norder;
static int edit_uc;   /* handler adds SIGINT, SIGKILL, SIGSTOP to uc_sigmask */
static int reraise;   /* handler raises its own signal once */

static void note(char c) {
    if (norder < 63) order[norder++] = c;
}

static void handler(int sig, siginfo_t *si, void *ucv) {
    ucontext_t *uc = ucv;
    calls++;
    depth++;
    if (depth > max_depth) max_depth = depth;
    note('(');
    if (calls == 1) {
        sigprocmask(SIG_BLOCK, NULL, &inside);
        uc_mask = uc->uc_sigmask;
        if (edit_uc) {
            sigaddset(&uc->uc_sigmask, SIGINT);
            sigaddset(&uc->uc_sigmask, SIGKILL);
            sigaddset(&uc->uc_sigmask, SIGSTOP);
        }
        if (reraise) raise(sig);
    }
    note(')');
    depth--;
}

static void install(int sig, int flags, int maskedsig) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = handler;
    sa.sa_flags = SA_SIGINFO | flags;
    sigemptyset(&sa.sa_mask);
    if (maskedsig) sigaddset(&sa.sa_mask, maskedsig);
    sigaction(sig, &sa, NULL);
}

static void reset(void) {
    calls = depth = max_depth = norder = edit_uc = reraise = 0;
    memset(order, 0, sizeof order);
    sigemptyset(&inside);
    sigemptyset(&uc_mask);
}

static int same_set(const sigset_t *a, const sigset_t *b) {
    for (int s = 1; s < 65; s++)
        if (sigismember(a, s) != sigismember(b, s)) return 0;
    return 1;
}

int main(void) {
    sigset_t base, now, want;
    sigemptyset(&base);
    sigaddset(&base, SIGHUP);
    sigaddset(&base, SIGRTMIN + 5);
    sigprocmask(SIG_SETMASK, &base, NULL);

    /* 1. default flags, sa_mask = {SIGUSR2} */
    reset();
    install(SIGUSR1, 0, SIGUSR2);
    raise(SIGUSR1);
    CHECK(calls == 1, "handler ran once");
    want = base;
    sigaddset(&want, SIGUSR1);
    sigaddset(&want, SIGUSR2);
    CHECK(same_set(&inside, &want), "inside: interrupted mask + SIGUSR1 (itself) + SIGUSR2 (sa_mask)");
    CHECK(same_set(&uc_mask, &base), "uc_sigmask is the interrupted mask");
    sigprocmask(SIG_BLOCK, NULL, &now);
    CHECK(same_set(&now, &base), "after: mask restored exactly");

    /* 2. SA_NODEFER: the signal itself stays unblocked; a raise inside nests */
    reset();
    install(SIGUSR1, SA_NODEFER, SIGUSR2);
    reraise = 1;
    raise(SIGUSR1);
    want = base;
    sigaddset(&want, SIGUSR2);
    CHECK(same_set(&inside, &want), "SA_NODEFER inside: interrupted mask + sa_mask only");
    CHECK(calls == 2 && max_depth == 2, "SA_NODEFER: the raise inside the handler nests (depth 2)");
    printf("SA_NODEFER order %s\n", order);
    sigprocmask(SIG_BLOCK, NULL, &now);
    CHECK(same_set(&now, &base), "after: mask restored exactly");

    /* 3. without SA_NODEFER the raise inside waits for the handler's return */
    reset();
    install(SIGUSR1, 0, 0);
    reraise = 1;
    raise(SIGUSR1);
    CHECK(calls == 2 && max_depth == 1, "deferred: second delivery after the first returns (depth 1)");
    printf("deferred order %s\n", order);
    sigprocmask(SIG_BLOCK, NULL, &now);
    CHECK(same_set(&now, &base), "after: mask restored exactly");

    /* 4. the handler edits uc_sigmask: rt_sigreturn installs it (SIGKILL/SIGSTOP dropped) */
    reset();
    install(SIGUSR1, 0, 0);
    edit_uc = 1;
    raise(SIGUSR1);
    sigprocmask(SIG_BLOCK, NULL, &now);
    want = base;
    sigaddset(&want, SIGINT);
    CHECK(same_set(&now, &want), "after: the mask is the handler's uc_sigmask, without SIGKILL/SIGSTOP");
    sigprocmask(SIG_SETMASK, &base, NULL);

    /* 5. a blocked signal raised while blocked is delivered by sigprocmask's unblock, with the
     * mask during the handler built from the *new* mask */
    reset();
    install(SIGUSR1, 0, 0);
    sigset_t b2 = base;
    sigaddset(&b2, SIGUSR1);
    sigprocmask(SIG_SETMASK, &b2, NULL);
    raise(SIGUSR1);
    CHECK(calls == 0, "blocked: not delivered yet");
    sigprocmask(SIG_SETMASK, &base, NULL);
    CHECK(calls == 1, "unblocked: delivered before sigprocmask returned");
    want = base;
    sigaddset(&want, SIGUSR1);
    CHECK(same_set(&inside, &want), "inside: new mask + SIGUSR1");
    CHECK(same_set(&uc_mask, &base), "uc_sigmask: the mask set by sigprocmask");

    /* 6. SA_RESETHAND: action back to SIG_DFL at delivery; SIGURG (default: ignore) raised again
     * is then ignored */
    reset();
    install(SIGURG, SA_RESETHAND, SIGUSR2);
    raise(SIGURG);
    CHECK(calls == 1, "SA_RESETHAND: handler ran");
    want = base;
    sigaddset(&want, SIGUSR2);
    sigaddset(&want, SIGURG);
    printf("SA_RESETHAND: own signal blocked inside: %s\n", sigismember(&inside, SIGURG) ? "yes" : "no");
    sigdelset(&want, SIGURG);
    sigdelset(&inside, SIGURG);
    CHECK(same_set(&inside, &want), "SA_RESETHAND inside: interrupted mask + sa_mask");
    struct sigaction cur;
    sigaction(SIGURG, NULL, &cur);
    CHECK(cur.sa_handler == SIG_DFL, "SA_RESETHAND: sigaction reports SIG_DFL after delivery");
    /* get_signal() resets only sa_handler: the flags and sa_mask stay as installed */
    CHECK((cur.sa_flags & ~0x04000000u) == (SA_SIGINFO | SA_RESETHAND),
          "SA_RESETHAND: flags after the reset still SA_SIGINFO|SA_RESETHAND (got 0x%x)",
          (unsigned)(cur.sa_flags & ~0x04000000u) == (SA_SIGINFO | SA_RESETHAND) ? (unsigned)(SA_SIGINFO | SA_RESETHAND) : 0u);
    CHECK(sigismember(&cur.sa_mask, SIGUSR2), "SA_RESETHAND: sa_mask kept after the reset");
    raise(SIGURG);
    CHECK(calls == 1, "SA_RESETHAND: second SIGURG ignored by the default action");

    /* 7. SA_RESETHAND | SA_NODEFER */
    reset();
    install(SIGUSR2, SA_RESETHAND | SA_NODEFER, 0);
    raise(SIGUSR2);
    CHECK(calls == 1, "SA_RESETHAND|SA_NODEFER: handler ran");
    want = base;
    CHECK(same_set(&inside, &want), "SA_RESETHAND|SA_NODEFER inside: interrupted mask only");
    sigaction(SIGUSR2, NULL, &cur);
    CHECK(cur.sa_handler == SIG_DFL, "SA_RESETHAND|SA_NODEFER: reset to SIG_DFL");

    /* 8. SIGKILL and SIGSTOP cannot be blocked */
    sigset_t ks;
    sigemptyset(&ks);
    sigaddset(&ks, SIGKILL);
    sigaddset(&ks, SIGSTOP);
    sigprocmask(SIG_BLOCK, &ks, NULL);
    sigprocmask(SIG_BLOCK, NULL, &now);
    CHECK(!sigismember(&now, SIGKILL) && !sigismember(&now, SIGSTOP), "SIGKILL/SIGSTOP never blocked");
    EXPECT_ERRNO(sigaction(SIGKILL, &cur, NULL), EINVAL, "sigaction(SIGKILL)");
    return guest_done();
}
