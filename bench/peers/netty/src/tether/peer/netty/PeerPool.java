package tether.peer.netty;

import com.fasterxml.jackson.databind.JsonNode;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.pool.AbstractChannelPoolHandler;
import io.netty.channel.pool.ChannelHealthChecker;
import io.netty.channel.pool.FixedChannelPool;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.LengthFieldBasedFrameDecoder;
import io.netty.handler.codec.LengthFieldPrepender;
import io.netty.handler.flush.FlushConsolidationHandler;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.Promise;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Netty's FixedChannelPool as an application would set it up: one NIO event loop, at most
 * {@code links} connections opened on demand, acquires that fail after a timeout, a health
 * check on acquire and release, and a pipeline speaking protocol v1.
 */
final class PeerPool implements AutoCloseable {
    static final long ACQUIRE_TIMEOUT_MS = 10_000;
    static final long REQUEST_TIMEOUT_MS = 10_000;
    static final int MAX_FRAME = 4 << 20; // protocol.md's default max_frame_size

    /** ChannelHealthChecker.ACTIVE, and not draining after a goaway (protocol.md). */
    private static final ChannelHealthChecker HEALTHY = channel -> channel.eventLoop()
            .newSucceededFuture(channel.isActive() && !ProtocolHandler.draining(channel));

    private final EventLoopGroup group = new NioEventLoopGroup(1);
    private final FixedChannelPool pool;

    PeerPool(String host, int port, int links) {
        Bootstrap bootstrap = new Bootstrap()
                .group(group)
                .channel(NioSocketChannel.class)
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, 10_000)
                .remoteAddress(host, port);
        pool = new FixedChannelPool(bootstrap, new PipelineSetup(), HEALTHY,
                FixedChannelPool.AcquireTimeoutAction.FAIL, ACQUIRE_TIMEOUT_MS, links,
                Integer.MAX_VALUE, true, true);
    }

    Future<Channel> acquire() {
        return pool.acquire();
    }

    void release(Channel channel) {
        pool.release(channel);
    }

    /** Sends {@code body} on an acquired channel; the call's result completes on its loop. */
    static Call send(Channel channel, JsonNode body) {
        Promise<JsonNode> result = channel.eventLoop().newPromise();
        Call call = new Call(body, result);
        channel.writeAndFlush(call);
        return call;
    }

    /**
     * One blocking request: acquire, send, wait for the echo, release. Throws when any step
     * fails; a request without an answer in time closes its channel.
     */
    JsonNode request(JsonNode body) throws Exception {
        Channel channel = pool.acquire().syncUninterruptibly().getNow();
        try {
            Promise<JsonNode> result = send(channel, body).result;
            if (!result.await(REQUEST_TIMEOUT_MS)) {
                channel.close();
                throw new TimeoutException("no response within " + REQUEST_TIMEOUT_MS + " ms");
            }
            if (!result.isSuccess())
                throw new Exception(result.cause());
            return result.getNow();
        } finally {
            pool.release(channel);
        }
    }

    @Override
    public void close() {
        pool.close();
        group.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
    }

    /** The pipeline of each new channel: framing, JSON, protocol. */
    private static final class PipelineSetup extends AbstractChannelPoolHandler {
        @Override
        public void channelCreated(Channel channel) {
            channel.pipeline().addLast(
                    // Writes issued while reading (pongs, pipelined requests) are flushed once
                    // per read batch; a write from a caller thread is flushed at once.
                    new FlushConsolidationHandler(),
                    // 4-byte big-endian length, then the payload; lengths above MAX_FRAME
                    // close the connection before anything that big is allocated.
                    new LengthFieldBasedFrameDecoder(MAX_FRAME, 0, 4, 0, 4),
                    new LengthFieldPrepender(4),
                    new JsonCodec(),
                    new ProtocolHandler());
        }

        /**
         * A channel the server sent goaway on fails the health check on release, so the pool
         * drops it, but it does not close it: that is done here, its responses all read.
         */
        @Override
        public void channelReleased(Channel channel) {
            if (ProtocolHandler.draining(channel))
                channel.close();
        }
    }
}
