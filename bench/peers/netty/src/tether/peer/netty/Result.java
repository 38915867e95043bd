package tether.peer.netty;

import com.fasterxml.jackson.databind.node.ObjectNode;

/** A run's figures, as bench/e2e's run_result has them, printed as one JSON line. */
final class Result {
    private Result() {}

    static ObjectNode of(long[] sortedNanos, long errors, Window window) {
        long requests = sortedNanos.length;
        double seconds = window.seconds();
        return Messages.MAPPER.createObjectNode()
                .put("requests", requests)
                .put("errors", errors)
                .put("seconds", seconds)
                .put("rps", seconds > 0 ? requests / seconds : 0)
                .put("p50_us", quantileMicros(sortedNanos, 0.50))
                .put("p99_us", quantileMicros(sortedNanos, 0.99))
                .put("p999_us", quantileMicros(sortedNanos, 0.999))
                .put("cpu_us_per_req", requests > 0 ? window.cpuMicros() / requests : 0);
    }

    /** Nearest rank, like the harness's quantile_us. */
    private static double quantileMicros(long[] sorted, double q) {
        if (sorted.length == 0)
            return 0;
        int rank = (int) Math.ceil(q * sorted.length);
        return sorted[Math.min(Math.max(rank, 1), sorted.length) - 1] / 1e3;
    }
}
