package tether.peer.netty;

import java.util.Arrays;

/** Per-request latencies in ns, appended by one thread at a time; sized before the run. */
final class LatencyLog {
    private long[] ns;
    private int count;

    LatencyLog(int capacity) {
        ns = new long[Math.max(capacity, 16)];
    }

    void add(long nanos) {
        if (count == ns.length)
            ns = Arrays.copyOf(ns, count * 2);
        ns[count++] = nanos;
    }

    /** Every latency of {@code logs}, in one sorted array. */
    static long[] merged(LatencyLog... logs) {
        int total = 0;
        for (LatencyLog log : logs)
            total += log.count;
        long[] all = new long[total];
        int at = 0;
        for (LatencyLog log : logs) {
            System.arraycopy(log.ns, 0, all, at, log.count);
            at += log.count;
        }
        Arrays.sort(all);
        return all;
    }
}
