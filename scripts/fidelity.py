#!/usr/bin/env python3
"""CPython's regression suite as a differential test of Herd (run by scripts/fidelity.sh).

For each module, runs `python3.11 -m test -v MODULE` natively and under `bin/herd run` (parallel
and serial mode), parses the verdict of every test case from the verbose output, and reports the
cases that pass natively but not under herd, with the reason taken from herd's traceback. A
module run is bounded in time; when it times out, the case that was running counts as hung, and
the module is run again without it (and without the cases already decided) so the rest of its
cases still get a verdict.

Writes docs/FIDELITY.md (or the file given by --out) unless --no-write. Exit status: 0 when every
case that passes natively passes under herd in every mode (a case whose fork failed with ENOSYS,
which Herd returned before issue 13, is listed apart and counts as lost too), 1 otherwise, 2 on a
usage or set-up error.
"""
import argparse
import concurrent.futures
import datetime
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PYTHON = "/usr/bin/python3.11"

# The modules issue 8 asks for, in its order, then test_subprocess (processes, issue 13), then
# modules added later for the system calls and signals they reach: files and paths, processes and
# waits, ptys, fault handlers, ctypes' executable memory, local servers, TLS over loopback, archives,
# interpreters started by the tests themselves, EINTR retries, the mail and RPC protocol servers,
# imports from files and zips, time zones and locales.
DEFAULT_MODULES = """test_thread test_threading test_threading_local test_queue test_signal test_select
test_selectors test_epoll test_socket test_time test_mmap test_fcntl test_os test_io test_struct test_re
test_json test_zlib test_hashlib test_bz2 test_lzma test_sqlite3 test_pickle test_math test_float
test_decimal test_itertools test_sched test_concurrent_futures test_asyncio test_subprocess
test_posix test_poll test_tempfile test_shutil test_resource test_fileio test_stat test_pty test_errno
test_file test_uuid test_random test_genericpath test_posixpath test_glob test_faulthandler test_ctypes
test_sys test_logging test_httpservers test_urllib2_localnet test_pwd test_grp test_gc test_weakref
test_exceptions test_wait4 test_wait3 test_fork1 test_ssl test_zipfile test_tarfile test_gzip test_cmd_line
test_cmd_line_script test_threadsignals test_tracemalloc test_atexit test_compileall test_mailbox test_array
test_memoryview test_unicode test_eintr test_openpty test_getpass test_popen test_largefile test_ftplib
test_smtplib test_poplib test_imaplib test_xmlrpc test_wsgiref test_asyncore test_asynchat test_telnetlib
test_platform test_site test_sysconfig test_dbm_dumb test_shelve test_zipimport test_zipapp test_datetime
test_strftime test_locale test_threadedtempfile test_netrc test_importlib""".split()

# The fast subset the README's test command runs (stress-tests CPythonSubsetTest): whole modules
# that take a few seconds under herd, and selected classes of bigger ones. Each entry is
# "MODULE[:PATTERN[,PATTERN...]]", the patterns going to `-m`.
QUICK = [
    "test_sched",
    "test_threading_local",
    "test_json:test.test_json.test_decode.*,test.test_json.test_float.*,test.test_json.test_dump.*",
    "test_math:test.test_math.MathTests.testLog*,test.test_math.MathTests.testExp*,test.test_math.MathTests.testPow",
    "test_float:test.test_float.GeneralFloatCases.*",
    "test_select",
    "test_fcntl",
    "test_time",
]

RESULT = re.compile(r"(ok|FAIL|ERROR|skipped.*|expected failure|unexpected success)\s*$")
# A case's line may follow the previous case's duration on the same line ("0.13s test_x (...) ... ok").
CASE_START = re.compile(r"^(?:\d+(?:\.\d+)?s )?(\w+) \(([\w.]+)\)(?:\n[^\n]*?)? \.\.\. ", re.M)
SECTION = re.compile(r"^(ERROR|FAIL): (\w+) \(([\w.]+)\)[^\n]*\n(?:[^\n-][^\n]*\n)?-{20,}\n(.*?)(?=^={20,}|^-{20,}\nRan |\Z)",
                     re.M | re.S)
FORK_HINTS = ("_fork_exec", "os.fork", "fork_exec", "posix_spawn", "subprocess.py", "multiprocessing",
              "spawnv", "os.system", "script_helper", "os.popen", "pty.fork", "forkpty")


SKIP_REASONS = {}


def verdict_of(text):
    """{case id: verdict} from a verbose unittest output (worst verdict when a case shows twice)."""
    verdicts = {}
    starts = list(CASE_START.finditer(text))
    for i, m in enumerate(starts):
        case = m.group(2)
        end = starts[i + 1].start() if i + 1 < len(starts) else len(text)
        chunk = text[m.end():end]
        v = None
        for line in chunk.splitlines():
            r = RESULT.search(line)
            if r:
                v = r.group(1)
                break
        if v and v.startswith("skipped"):
            SKIP_REASONS[case] = v
        v = "ok" if v == "ok" else ("skipped" if v and v.startswith("skipped") else (v or "no verdict"))
        old = verdicts.get(case)
        if old is None or old == "ok":
            verdicts[case] = v
    return verdicts, (starts[-1].group(2) if starts else None)


def reasons_of(text):
    """{case id: one-line reason} from the ERROR:/FAIL: sections of a run."""
    out = {}
    for m in SECTION.finditer(text):
        case, body = m.group(3), m.group(4)
        lines = [l for l in body.strip().splitlines() if l.strip()]
        last = lines[-1].strip() if lines else m.group(1)
        if "Errno 38" in body and any(h in body for h in FORK_HINTS) or \
                ("subprocess" in body and "Function not implemented" in body):
            out[case] = "needs fork: " + last
        elif case not in out:
            out[case] = last
    return out


# A case whose fork failed (ENOSYS) and that then makes no progress for this long waits for a child
# that never ran: it is stopped then, without the full idle bound.
FORK_IDLE = 60


def fork_failure_in(text):
    return ("Errno 38" in text or "Function not implemented" in text) and any(h in text for h in FORK_HINTS)


def running_case_tail(text):
    starts = list(CASE_START.finditer(text))
    return text[starts[-1].end():] if starts else ""


def running_case_hit_fork(out):
    # pread: the child writes through the same open file description, whose offset must not move
    size = os.fstat(out.fileno()).st_size
    text = os.pread(out.fileno(), size, 0).decode("utf-8", "replace")
    return fork_failure_in(running_case_tail(text))


def run_once(argv, timeout, cwd, env, idle):
    """(output, status, timed out, seconds). The run is killed (its whole process group) when it
    exceeds `timeout` seconds in all, or prints nothing for `idle` seconds: a case that makes no
    progress for that long is hung, however slow the module is as a whole."""
    t0 = time.monotonic()
    with tempfile.TemporaryFile() as out:
        p = subprocess.Popen(argv, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT,
                             stdin=subprocess.DEVNULL, start_new_session=True)
        timed_out, rc, size, last_change = False, None, -1, time.monotonic()
        while True:
            try:
                rc = p.wait(timeout=2)
                break
            except subprocess.TimeoutExpired:
                pass
            now = time.monotonic()
            cur = os.fstat(out.fileno()).st_size
            if cur != size:
                size, last_change = cur, now
            silent = now - last_change
            if now - t0 > timeout or silent > idle or (silent > FORK_IDLE and running_case_hit_fork(out)):
                timed_out = True
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
                break
        out.seek(0)
        return out.read().decode("utf-8", "replace"), rc, timed_out, time.monotonic() - t0


LOGS = os.path.join(ROOT, "target", "fidelity")


def save_log(module, label, attempt, text):
    os.makedirs(LOGS, exist_ok=True)
    with open(os.path.join(LOGS, "%s.%s.%d.log" % (module, label, attempt)), "w") as f:
        f.write(text)


def run_module(runner, module, patterns, timeout, max_hangs=3, label="native", idle=300, skip=()):
    """Verdicts and reasons for one module under one runner, resuming past hung cases; the cases
    in `skip` are not run at all."""
    verdicts, reasons, ignores = {}, {}, list(skip)
    seconds = 0.0
    for attempt in range(max_hangs + 1):
        with tempfile.TemporaryDirectory(prefix="herd-fidelity-") as cwd:
            argv = runner + [PYTHON, "-u", "-m", "test", "-v", module]
            for p in patterns:
                argv += ["-m", p]
            for p in ignores:
                argv += ["-i", p]
            env = dict(os.environ)
            env["PATH"] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
            env["PYTHONUNBUFFERED"] = "1"
            env.pop("PYTHONPATH", None)
            env.pop("PYTHONHOME", None)
            text, rc, timed_out, secs = run_once(argv, timeout, cwd, env, idle)
        seconds += secs
        save_log(module, label, attempt, text)
        v, last = verdict_of(text)
        for case, verdict in v.items():
            verdicts.setdefault(case, verdict)
        for case, why in reasons_of(text).items():
            reasons.setdefault(case, why)
        if not timed_out:
            if rc != 0 and not v:   # nothing ran: the module did not import, or the interpreter died
                errors = [l.strip() for l in text.splitlines() if re.match(r"^\w+(Error|Exception): ", l.strip())]
                tail = errors[-1:] or [l for l in text.strip().splitlines() if l.strip()][-1:] or ["(no output)"]
                reasons.setdefault("<module>", "run ended with status %s: %s" % (rc, tail[0]))
            if attempt > 0:
                seconds += reasons_again(runner, module, verdicts, reasons, timeout, label, idle)
            return verdicts, reasons, seconds, rc
        hung = last if last and v.get(last) == "no verdict" else None
        if hung is None:
            reasons.setdefault("<module>", "timed out after %d s with no case running" % timeout)
            return verdicts, reasons, seconds, None
        verdicts[hung] = "hang"
        if fork_failure_in(running_case_tail(text)):
            reasons[hung] = "needs fork: hung after fork failed with ENOSYS (stopped after %d s without output)" % FORK_IDLE
        else:
            reasons[hung] = "hung (no output for %d s, or the module's %d s bound)" % (idle, timeout)
        # run again without the hung case and without what already has a verdict
        ignores = sorted(set(skip) | {c for c, vv in verdicts.items() if vv != "no verdict"})
    return verdicts, reasons, seconds, None


def reasons_again(runner, module, verdicts, reasons, timeout, label, idle):
    """A run stopped on a hung case never printed its ERROR/FAIL sections (unittest prints them at
    the end): runs the cases that failed without a reason once more, together, for their reasons."""
    missing = sorted(c for c, v in verdicts.items() if v in ("ERROR", "FAIL") and c not in reasons)
    if not missing:
        return 0.0
    with tempfile.TemporaryDirectory(prefix="herd-fidelity-") as cwd:
        argv = runner + [PYTHON, "-u", "-m", "test", "-v", module]
        for c in missing:
            argv += ["-m", c]
        env = dict(os.environ)
        env["PATH"] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
        env["PYTHONUNBUFFERED"] = "1"
        text, _, _, secs = run_once(argv, timeout, cwd, env, idle)
    save_log(module, label + ".reasons", 0, text)
    for case, why in reasons_of(text).items():
        if case in missing:
            reasons.setdefault(case, why)
    return secs


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("modules", nargs="*", help="CPython test modules (default: DEFAULT_MODULES)")
    ap.add_argument("--quick", action="store_true", help="the fast subset run by the test suite")
    ap.add_argument("--modes", default="parallel,serial")
    ap.add_argument("--timeout", type=int, default=int(os.environ.get("HERD_FIDELITY_TIMEOUT", "14400")),
                    help="bound of one module run under herd, seconds")
    ap.add_argument("--native-timeout", type=int, default=1800)
    ap.add_argument("--native-idle", type=int, default=120,
                    help="a native run silent this long has a hung case (not compared), seconds")
    ap.add_argument("--out", default=os.path.join(ROOT, "docs", "FIDELITY.md"))
    ap.add_argument("--no-write", action="store_true")
    ap.add_argument("--herd", default=os.path.join(ROOT, "bin", "herd"))
    ap.add_argument("--idle", type=int, default=int(os.environ.get("HERD_FIDELITY_IDLE", "900")),
                    help="a herd run silent this long has a hung case, seconds")
    ap.add_argument("--state", help="results file (default docs/fidelity-results.json; --quick: target/fidelity/)")
    ap.add_argument("--resume", action="store_true", help="skip modules the results file already has")
    ap.add_argument("--report-only", action="store_true", help="render the report from the results file; measure nothing")
    a = ap.parse_args()

    if not os.path.exists(PYTHON) or not os.path.isdir("/usr/lib/python3.11/test/test_json"):
        print("fidelity: needs Debian's python3.11 and libpython3.11-testsuite (scripts/setup.sh installs them)",
              file=sys.stderr)
        return 2
    entries = QUICK if a.quick else (a.modules or DEFAULT_MODULES)
    modes = [m for m in a.modes.split(",") if m]
    # full runs keep their results next to the report (docs/), so later runs can --resume them
    state_path = a.state or (os.path.join(LOGS, "results-quick.json") if a.quick
                             else os.path.join(ROOT, "docs", "fidelity-results.json"))
    state = {}
    if os.path.exists(state_path):  # earlier modules' results stay; --resume skips them
        with open(state_path) as f:
            state = json.load(f)
    started = time.monotonic()
    for entry in ([] if a.report_only else entries):
        if a.resume and entry in state and all(m in state[entry]["row"] for m in modes):
            continue
        state[entry] = measure(a, entry, modes)
        os.makedirs(os.path.dirname(state_path), exist_ok=True)
        with open(state_path, "w") as f:
            json.dump(state, f, indent=1)
        # the report is rewritten after every module, so a long run leaves what it has measured
        report = render(a, entries, modes, state, time.monotonic() - started)
        if not a.no_write:
            with open(a.out, "w") as f:
                f.write(report)
    report = render(a, entries, modes, state, time.monotonic() - started)
    if a.no_write:
        sys.stdout.write(report)
    elif a.report_only:
        with open(a.out, "w") as f:
            f.write(report)
    losses = [l for e in entries if e in state for l in state[e]["losses"] + state[e]["fork"]]
    for module, case, mode, verdict, why in losses:
        print("fidelity: LOST %s [%s] %s: %s" % (case, mode, verdict, why), file=sys.stderr)
    return 1 if losses else 0


def measure(a, entry, modes):
    """One module (entry "MODULE[:PATTERN,...]"): native run, then each mode under herd at once."""
    module, _, pats = entry.partition(":")
    patterns = [p for p in pats.split(",") if p]
    nv, nr, nsecs, nrc = run_module([], module, patterns, a.native_timeout, idle=a.native_idle)
    # a case that hangs natively is not compared, and not run under herd (it would hang there too)
    native_hangs = sorted(c for c, v in nv.items() if v == "hang")
    native_pass = {c for c, v in nv.items() if v == "ok"}
    row = {"module": entry, "native_total": len(nv), "native_pass": len(native_pass), "native_s": nsecs}
    if not nv:
        row["native_note"] = nr.get("<module>", "no case ran natively")
    if native_hangs:
        row["native_hangs"] = native_hangs
    losses, fork_losses, flaky = [], [], []
    # the modes run at once (each herd run mostly keeps one core busy)
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(modes)) as pool:
        runs = {mode: pool.submit(run_module, [a.herd, "run", "--mode", mode], module, patterns, a.timeout,
                                  label=mode, idle=a.idle, skip=native_hangs) for mode in modes}
        results = {mode: f.result() for mode, f in runs.items()}
    for mode in modes:
        hv, hr, hsecs, hrc = results[mode]
        herd_pass = {c for c, v in hv.items() if v == "ok"}
        lost = sorted(native_pass - herd_pass)
        # a case lost once is run again alone (at most 10 per module): a timing-sensitive case
        # that passes then is reported as flaky, not as a loss
        retry = [c for c in lost if not hr.get(c, "").startswith("needs fork") and hv.get(c) != "skipped"]
        for case in retry[:10]:
            rv, _, _, _ = run_module([a.herd, "run", "--mode", mode], module, [case], a.timeout, max_hangs=0,
                                     label=mode + ".retry", idle=a.idle)
            if rv.get(case) == "ok":
                herd_pass.add(case)
                flaky.append((module, case, mode, hv.get(case, "not run")))
        row[mode] = (len(native_pass & herd_pass), hsecs)
        for case in sorted(native_pass - herd_pass):
            verdict = hv.get(case, "not run")
            why = (hr.get(case) or next((w for k, w in hr.items() if case.startswith(k + ".")), None)
                   or hr.get("<module>") or (SKIP_REASONS.get(case, "") if verdict == "skipped" else ""))
            item = (module, case, mode, verdict, why)
            (fork_losses if why.startswith("needs fork") else losses).append(item)
        print("fidelity: %-24s native %d/%d (%.0f s)  herd %s %d (%.0f s)" % (
            entry, len(native_pass), len(nv), nsecs, mode, len(native_pass & herd_pass), hsecs),
            file=sys.stderr, flush=True)
    return {"row": row, "losses": losses, "fork": fork_losses, "flaky": flaky,
            "commit": git_commit(), "date": datetime.date.today().isoformat()}


def git_commit():
    return subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], stdout=subprocess.PIPE,
                          stderr=subprocess.DEVNULL).stdout.decode().strip() or "?"


def render(a, entries, modes, state, seconds):
    rows = [state[e]["row"] for e in entries if e in state]
    losses = [tuple(l) for e in entries if e in state for l in state[e]["losses"]]
    fork_losses = [tuple(l) for e in entries if e in state for l in state[e]["fork"]]
    flaky = [tuple(l) for e in entries if e in state for l in state[e]["flaky"]]
    commits = sorted({state[e]["commit"] for e in entries if e in state})
    cmd = "scripts/fidelity.sh " + (" ".join(shlex.quote(x) for x in sys.argv[1:]))
    out = ["# Fidelity: CPython's regression suite under Herd", ""]
    if a.report_only:
        out.append("Rendered by `%s` on %s from the results of earlier `scripts/fidelity.sh` runs (one row per "
                   "module, each measured at the commit in its row; a module is re-measured with "
                   "`scripts/fidelity.sh MODULE`, the whole list with `scripts/fidelity.sh`)."
                   % (cmd.strip(), datetime.date.today().isoformat()))
        out.append("")
    out.append(("" if a.report_only else "Generated by `%s` on %s (commit %s, this run %d s).") % (
        () if a.report_only else (cmd.strip(), datetime.date.today().isoformat(), ", ".join(commits) or "?", seconds))
               + ("" if a.report_only else " ") + "Each module ran as `python3.11 -u -m test -v "
               "MODULE` natively and under `bin/herd run --mode MODE` (Debian's python3.11 and "
               "libpython3.11-testsuite, host root as rootfs); a case passes when its verdict is `ok`. "
               "A herd run that prints nothing for %d s has a hung case (counted as failed; the module "
               "goes on without it)." % a.idle)
    out.append("")
    head = "| module | cases | pass natively |" + "".join(" pass under herd %s |" % m for m in modes) + " commit |"
    out.append(head)
    out.append("|---|---:|---:|" + "---:|" * len(modes) + "---|")
    for e in entries:
        if e not in state:
            continue
        r = state[e]["row"]
        cells = "".join(" %d (%.0f s) |" % tuple(r[m]) if m in r else " — |" for m in modes)
        out.append("| %s | %d | %d (%.1f s) |%s %s |" % (r["module"], r["native_total"], r["native_pass"],
                                                       r["native_s"], cells, state[e]["commit"]))
    for r in rows:
        for c in r.get("native_hangs", []):
            out.append("")
            out.append("`%s` hangs natively on this machine; it is not compared (nor run under herd)." % c)
        if r.get("native_note"):
            out.append("")
            out.append("%s: no case ran natively (%s), so there is nothing to compare." % (r["module"], r["native_note"]))
    total_native = sum(r["native_pass"] for r in rows)
    done = {r["module"] for r in rows}
    pending = [e for e in entries if e not in done]
    if pending:
        out.append("")
        out.append("Not measured yet: " + ", ".join(pending) + ".")
    out.append("")
    out.append("Cases passing natively: %d. Lost under herd: %d case-runs, and %d more whose fork failed "
               "with ENOSYS." % (total_native, len(losses), len(fork_losses)))
    out.append("")
    out.append("## Cases that pass natively but not under herd")
    out.append("")
    if not losses:
        out.append("None.")
    else:
        out.append("| case | mode | verdict | reason |")
        out.append("|---|---|---|---|")
        for module, case, mode, verdict, why in losses:
            out.append("| `%s` | %s | %s | %s |" % (case, mode, verdict, why.replace("|", "\\|")[:200]))
    out.append("")
    out.append("## Cases that failed once under herd and passed when run again alone")
    out.append("")
    for module, case, mode, verdict in flaky:
        out.append("- `%s` (%s, first verdict %s)" % (case, mode, verdict))
    if not flaky:
        out.append("None.")
    out.append("")
    out.append("## Cases whose fork failed with ENOSYS (Herd's answer before it had fork, issue 13)")
    out.append("")
    by_case = {}
    for module, case, mode, verdict, why in fork_losses:
        by_case.setdefault(case, []).append(mode)
    for case in sorted(by_case):
        out.append("- `%s` (%s)" % (case, ", ".join(by_case[case])))
    if not by_case:
        out.append("None.")
    out.append("")
    return "\n".join(out)


if __name__ == "__main__":
    sys.exit(main())
