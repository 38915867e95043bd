package tether.peer.netty;

import java.lang.management.ManagementFactory;

/**
 * The phases of a run, as bench/e2e's harness has them: warming (unrecorded), measuring, then
 * stopping (requests in flight finish and count, inside the window). Announces the window's
 * start and end on stdout ("MEASURING", "STOPPED") so the driver can sample the server's CPU
 * at the same moments, and measures this process's CPU over it.
 */
final class Window {
    static final int WARMING = 0, MEASURING = 1, STOPPING = 2;

    private static final com.sun.management.OperatingSystemMXBean OS =
            (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();

    private volatile int phase = WARMING;
    private long startNanos, endNanos, cpuStartNanos, cpuEndNanos;

    int phase() {
        return phase;
    }

    void start() {
        cpuStartNanos = OS.getProcessCpuTime();
        startNanos = System.nanoTime();
        phase = MEASURING;
        announce("MEASURING");
    }

    /** Callers stop sending; the window ends at {@link #end} once they are done. */
    void stop() {
        phase = STOPPING;
    }

    void end() {
        endNanos = System.nanoTime();
        cpuEndNanos = OS.getProcessCpuTime();
        announce("STOPPED");
    }

    double seconds() {
        return (endNanos - startNanos) / 1e9;
    }

    /** User + system CPU of the whole JVM over the window (GC and JIT threads included). */
    double cpuMicros() {
        return (cpuEndNanos - cpuStartNanos) / 1e3;
    }

    /** Runs the timeline: warm-up, start, measured seconds, stop (the caller then drains). */
    void runTimeline(Options o) throws InterruptedException {
        sleepSeconds(o.warmup());
        start();
        sleepSeconds(o.seconds());
        stop();
    }

    private static void sleepSeconds(double s) throws InterruptedException {
        Thread.sleep((long) (s * 1000));
    }

    private static void announce(String line) {
        System.out.println(line);
        System.out.flush();
    }
}
