package tether.peer.netty;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * The closed loop: C caller threads, each repeating acquire → request → wait for its
 * response → release on a pool of L channels (C > L: callers wait in the pool's acquire
 * queue). Timed like the harness's closed_loop: each request counts in the phase it started.
 */
final class ClosedLoop {
    private ClosedLoop() {}

    static ObjectNode run(PeerPool pool, JsonNode body, Options o) throws InterruptedException {
        Window window = new Window();
        // Sized for ~200k requests/s over the run, spread across callers.
        int capacity = (int) (o.seconds() * 200_000 / o.callers()) + 1024;
        LatencyLog[] logs = new LatencyLog[o.callers()];
        long[] errors = new long[o.callers()];
        Thread[] callers = new Thread[o.callers()];
        for (int i = 0; i < callers.length; i++) {
            LatencyLog log = logs[i] = new LatencyLog(capacity);
            int index = i;
            callers[i] = new Thread(() -> errors[index] = loop(pool, body, window, log),
                    "caller-" + i);
            callers[i].start();
        }
        window.runTimeline(o);
        for (Thread caller : callers)
            caller.join();
        window.end();
        long failed = 0;
        for (long e : errors)
            failed += e;
        return Result.of(LatencyLog.merged(logs), failed, window);
    }

    /** One caller until the stop; returns its failed requests inside the window. */
    private static long loop(PeerPool pool, JsonNode body, Window window, LatencyLog log) {
        long failed = 0;
        for (;;) {
            int phase = window.phase();
            if (phase == Window.STOPPING)
                return failed;
            long t0 = System.nanoTime();
            boolean ok = true;
            try {
                pool.request(body);
            } catch (Exception e) {
                ok = false;
            }
            long t1 = System.nanoTime();
            if (phase == Window.MEASURING) {
                if (ok)
                    log.add(t1 - t0);
                else
                    failed++;
            }
            if (!ok) // a broken server fails fast: do not spin on it
                pause();
        }
    }

    private static void pause() {
        try {
            Thread.sleep(1);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
