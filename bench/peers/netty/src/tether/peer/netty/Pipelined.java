package tether.peer.netty;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.netty.channel.Channel;
import io.netty.util.concurrent.Future;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * The pipelined mode: one channel acquired from the pool carries D requests in flight; each
 * completion records its request and sends the next one. Everything after the start runs on
 * the channel's event loop, so the state needs no lock. (A goaway on that channel is not
 * acted on until the run ends: the reference server sends none while it runs.)
 */
final class Pipelined {
    private static final long DRAIN_SECONDS = 15;

    private final Channel channel;
    private final JsonNode body;
    private final Window window = new Window();
    private final LatencyLog log;
    private final CountDownLatch drained = new CountDownLatch(1);
    private long errors;
    private int inFlight;

    private Pipelined(Channel channel, JsonNode body, Options o) {
        this.channel = channel;
        this.body = body;
        this.log = new LatencyLog((int) (o.seconds() * 1_000_000) + 1024);
    }

    static ObjectNode run(PeerPool pool, JsonNode body, Options o) throws Exception {
        Channel channel = pool.acquire().syncUninterruptibly().getNow();
        try {
            return new Pipelined(channel, body, o).measure(o);
        } finally {
            pool.release(channel);
        }
    }

    private ObjectNode measure(Options o) throws InterruptedException {
        channel.eventLoop().execute(() -> {
            inFlight = o.depth();
            for (int i = 0; i < o.depth(); i++)
                send();
        });
        window.runTimeline(o);
        if (!drained.await(DRAIN_SECONDS, TimeUnit.SECONDS)) {
            channel.close(); // fails what is still outstanding
            drained.await();
        }
        window.end();
        return channel.eventLoop()
                .submit(() -> Result.of(LatencyLog.merged(log), errors, window))
                .syncUninterruptibly()
                .getNow();
    }

    private void send() {
        long sent = System.nanoTime();
        boolean measured = window.phase() == Window.MEASURING;
        PeerPool.send(channel, body).result.addListener(f -> done(f, sent, measured));
    }

    private void done(Future<?> response, long sent, boolean measured) {
        boolean ok = response.isSuccess();
        if (measured) {
            if (ok)
                log.add(System.nanoTime() - sent);
            else
                errors++;
        }
        if (!ok || window.phase() == Window.STOPPING) { // a failed slot stays idle
            if (--inFlight == 0)
                drained.countDown();
            return;
        }
        send();
    }
}
