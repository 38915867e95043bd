package tether.peer.netty;

import com.fasterxml.jackson.databind.JsonNode;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufInputStream;
import io.netty.buffer.ByteBufOutputStream;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.MessageToMessageCodec;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.List;

/** One frame's payload ⇄ one JSON tree (the framing itself is done by the handlers before). */
final class JsonCodec extends MessageToMessageCodec<ByteBuf, JsonNode> {
    @Override
    protected void encode(ChannelHandlerContext ctx, JsonNode message, List<Object> out)
            throws Exception {
        ByteBuf payload = ctx.alloc().buffer();
        try {
            Messages.MAPPER.writeValue((OutputStream) new ByteBufOutputStream(payload), message);
        } catch (Exception e) {
            payload.release();
            throw e;
        }
        out.add(payload);
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf frame, List<Object> out)
            throws Exception {
        // An empty frame or one that is not JSON: the handler treats it as a protocol error.
        JsonNode message = Messages.MAPPER.readTree((InputStream) new ByteBufInputStream(frame));
        out.add(message == null ? Messages.MAPPER.missingNode() : message);
    }
}
