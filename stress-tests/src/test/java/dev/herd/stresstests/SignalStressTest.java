package dev.herd.stresstests;

import static dev.herd.stresstests.GuestCase.c;

import java.io.IOException;
import java.util.List;
import java.util.stream.IntStream;
import java.util.stream.Stream;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The race-prone signal guests of stress-tests/src/main/c (sig_*.c), each run {@link #REPEAT}
 * times in every mode, every run a full differential check against the native run: a storm of
 * signals between 8 threads, pthread_kill to chosen threads, EINTR/restart of blocking calls,
 * sigwaitinfo in a dedicated thread. {@code -Dherd.signal.repeat=N} changes the count.
 *
 * <p>Signal delivery to a running thread is an exact stop of its engine. Herd makes those by a kick
 * and its cpu_exec wrapper where it can (herd_native.c), else by a per-block hook; the fallback
 * ({@code HERD_EXEC_STOPS=0}) gets one differential run per case and mode too, so it stays correct.
 */
class SignalStressTest {

    static final int REPEAT = Integer.getInteger("herd.signal.repeat", 5);

    static final List<GuestCase> CASES = List.of(
            c("sig_storm", "40000").status(0),
            c("sig_pthread_kill", "10").status(0),
            c("sig_eintr", "2").status(0),
            c("sig_wait", "5").status(0));

    static Stream<Arguments> runs() {
        return CASES.stream().flatMap(c -> Stream.of(Mode.values())
                .flatMap(m -> IntStream.rangeClosed(1, REPEAT).mapToObj(i -> Arguments.of(c, m, i))));
    }

    @ParameterizedTest(name = "{0} [{1}] #{2}")
    @MethodSource("runs")
    void sameAsNativeEveryTime(GuestCase guest, Mode mode, int repetition) throws IOException {
        Differential.check(guest, mode);
    }

    @ParameterizedTest(name = "{0} [{1}] block-hook stops")
    @MethodSource("blockHookRuns")
    void sameAsNativeWithBlockHookStops(GuestCase guest, Mode mode) throws IOException {
        Differential.check(guest, mode, java.util.Map.of("HERD_EXEC_STOPS", "0"));
    }

    static Stream<Arguments> blockHookRuns() {
        return Differential.inAllModes(CASES);
    }
}
