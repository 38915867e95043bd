package tether.peer.netty;

import com.fasterxml.jackson.databind.JsonNode;
import io.netty.channel.Channel;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.util.AttributeKey;
import java.io.IOException;
import java.nio.channels.ClosedChannelException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Map;

/**
 * Protocol v1 on one channel: gives each outgoing {@link Call} an id and matches responses to
 * them (in any order), answers pings with pongs, and marks the channel on goaway so the pool
 * stops handing it out. Runs on the channel's event loop only, so its state needs no lock.
 */
final class ProtocolHandler extends ChannelDuplexHandler {
    /** Set once the server sent goaway: no new requests on this channel. */
    static final AttributeKey<Boolean> GOAWAY = AttributeKey.valueOf("tether.goaway");

    private final Map<Long, Call> outstanding = new HashMap<>();
    private long nextId = 1;

    static boolean draining(Channel channel) {
        return Boolean.TRUE.equals(channel.attr(GOAWAY).get());
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
        if (!(msg instanceof Call call)) {
            ctx.write(msg, promise);
            return;
        }
        long id = nextId++;
        outstanding.put(id, call);
        promise.addListener(written -> {
            if (!written.isSuccess() && outstanding.remove(id) != null)
                call.result.tryFailure(written.cause());
        });
        ctx.write(Messages.request(id, call.body), promise);
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) throws IOException {
        JsonNode message = (JsonNode) msg;
        JsonNode type = message.get("type");
        if (!message.isObject() || type == null || !type.isTextual())
            throw new IOException("protocol error: not an object with a string type");
        switch (type.textValue()) {
            case "ping" -> ctx.writeAndFlush(Messages.pong(id(message)));
            case "response" -> {
                Call call = outstanding.remove(id(message).asLong());
                if (call != null) // else: late or unknown, dropped
                    call.answer(message);
            }
            case "goaway" -> ctx.channel().attr(GOAWAY).set(true);
            default -> {} // pong, notify, unknown types: ignored
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        failAll(new ClosedChannelException());
        ctx.fireChannelInactive();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        failAll(cause); // a protocol or I/O error: the connection and its requests are lost
        ctx.close();
    }

    private static JsonNode id(JsonNode message) throws IOException {
        JsonNode id = message.get("id");
        if (!Messages.isId(id))
            throw new IOException("protocol error: " + message.get("type") + " without valid id");
        return id;
    }

    private void failAll(Throwable cause) {
        for (Call call : new ArrayList<>(outstanding.values()))
            call.result.tryFailure(cause);
        outstanding.clear();
    }
}
