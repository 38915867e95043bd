package tether.peer.netty;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * tether-netty-peer: a protocol v1 client on Netty's FixedChannelPool, the Netty peer of
 * bench/e2e (tether_e2e runs it beside tether and the raw Asio baseline).
 *
 * <pre>
 *   java -jar tether-netty-peer.jar --port P [--host H] [--callers C] [--links L] [--bytes B]
 *                                   [--seconds S] [--warmup W] [--depth D]
 * </pre>
 *
 * Checks one echo, warms up for W s, prints "MEASURING", measures for S s, prints "STOPPED"
 * once the requests in flight are done, then one JSON line: requests, errors, seconds, rps,
 * p50_us, p99_us, p999_us, cpu_us_per_req. Exit status: 0 ok, 1 failure, 2 bad arguments, 3
 * it did not finish in time (a watchdog ends it).
 */
public final class Main {
    private Main() {}

    public static void main(String[] args) {
        Options o;
        try {
            o = Options.parse(args);
        } catch (IllegalArgumentException e) {
            System.err.print("tether-netty-peer: " + e.getMessage() + "\n" + Options.USAGE);
            System.exit(2);
            return;
        }
        startWatchdog(o.warmup() + o.seconds() + 60);
        try (PeerPool pool = new PeerPool(o.host(), o.port(), o.links())) {
            JsonNode body = Messages.bodyOfSize(o.bytes());
            pool.request(body); // one echo checked (and a channel opened) before the clock runs
            ObjectNode result = o.pipelined() ? Pipelined.run(pool, body, o)
                                              : ClosedLoop.run(pool, body, o);
            System.out.println(result);
            System.out.flush();
        } catch (Exception e) {
            System.err.println("tether-netty-peer: " + describe(e));
            System.exit(1);
        }
        System.exit(0);
    }

    private static String describe(Throwable e) {
        Throwable root = e;
        while (root.getCause() != null && root.getCause() != root)
            root = root.getCause();
        return root == e ? e.toString() : e + " (" + root + ")";
    }

    /** Bounded in time whatever happens: a hung server or pool ends the process. */
    private static void startWatchdog(double seconds) {
        Thread watchdog = new Thread(() -> {
            try {
                Thread.sleep((long) (seconds * 1000));
            } catch (InterruptedException e) {
                return;
            }
            System.err.printf("tether-netty-peer: not done after %.0f s, giving up%n", seconds);
            Runtime.getRuntime().halt(3);
        }, "watchdog");
        watchdog.setDaemon(true);
        watchdog.start();
    }
}
