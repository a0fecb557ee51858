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
 * The most race-prone thread guests of stress-tests/src/main/c, each run {@link #REPEAT} times in
 * every mode (a race that shows once in a few runs still fails the build). Every run is a full
 * differential check against the native run. {@code -Dherd.stress.repeat=N} changes the count.
 */
class ThreadStressTest {

    static final int REPEAT = Integer.getInteger("herd.stress.repeat", 5);

    static final List<GuestCase> CASES = List.of(
            c("thr_mutex", "10000").status(0),
            c("thr_spin", "4000").status(0),
            c("thr_atomic", "20000").status(0),
            c("thr_condvar", "10000").status(0),
            c("thr_jit", "block", "200").status(0),
            c("thr_jit", "spin", "100").status(0),
            c("thr_jit", "atomic", "50000").status(0),
            c("thr_mmrace").status(0));

    static Stream<Arguments> runs() {
        return CASES.stream().flatMap(c -> Stream.of(Mode.values())
                .flatMap(m -> IntStream.rangeClosed(1, REPEAT).mapToObj(i -> Arguments.of(c, m, i))));
    }

    @ParameterizedTest(name = "{0} [{1}] #{2}")
    @MethodSource("runs")
    void sameAsNativeEveryTime(GuestCase guest, Mode mode, int repetition) throws IOException {
        Differential.check(guest, mode);
    }
}
