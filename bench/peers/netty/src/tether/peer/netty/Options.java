package tether.peer.netty;

/** The command line, same names as raw_asio_client's: what to run against which server. */
record Options(String host, int port, int callers, int links, int bytes, double seconds,
        double warmup, int depth) {

    static final String USAGE = "usage: tether-netty-peer --port P [--host H] [--callers C]"
            + " [--links L] [--bytes B] [--seconds S] [--warmup W] [--depth D]\n"
            + "  --depth D selects the pipelined mode: D requests in flight on one channel"
            + " (--callers and --links are then ignored)\n";

    boolean pipelined() {
        return depth > 0;
    }

    /** @throws IllegalArgumentException with the reason, for the usage message */
    static Options parse(String[] args) {
        String host = "127.0.0.1";
        int port = 0, callers = 1, links = 1, bytes = 64, depth = 0;
        double seconds = 2, warmup = 1;
        for (int i = 0; i < args.length; i++) {
            String name = args[i];
            if (i + 1 >= args.length)
                throw new IllegalArgumentException("missing value for " + name);
            String value = args[++i];
            switch (name) {
                case "--host" -> host = value;
                case "--port" -> port = integer(name, value, 1, 65535);
                case "--callers" -> callers = integer(name, value, 1, 10_000);
                case "--links" -> links = integer(name, value, 1, 10_000);
                case "--bytes" -> bytes = integer(name, value, 0, 4 << 20);
                case "--depth" -> depth = integer(name, value, 0, 100_000);
                case "--seconds" -> seconds = decimal(name, value, 3600);
                case "--warmup" -> warmup = decimal(name, value, 600);
                default -> throw new IllegalArgumentException("unknown option " + name);
            }
        }
        if (port == 0)
            throw new IllegalArgumentException("--port is required");
        if (!(seconds > 0))
            throw new IllegalArgumentException("--seconds must be positive");
        // Pipelined: one channel carries all D requests, as with raw_asio_client.
        return new Options(host, port, callers, depth > 0 ? 1 : links, bytes, seconds, warmup,
                depth);
    }

    private static int integer(String name, String text, int min, int max) {
        try {
            int v = Integer.parseInt(text);
            if (v >= min && v <= max)
                return v;
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new IllegalArgumentException(
                "bad value '" + text + "' for " + name + " (" + min + ".." + max + ")");
    }

    private static double decimal(String name, String text, double max) {
        try {
            double v = Double.parseDouble(text);
            if (v >= 0 && v <= max)
                return v;
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new IllegalArgumentException(
                "bad value '" + text + "' for " + name + " (0.." + max + ")");
    }
}
