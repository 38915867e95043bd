package tether.peer.netty;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

/** The protocol v1 messages this client sends, as Jackson trees (docs/protocol.md). */
final class Messages {
    static final ObjectMapper MAPPER = new ObjectMapper();

    private Messages() {}

    /**
     * {"p":"xxx…"} whose JSON text is exactly {@code bytes} long (or the shortest such object):
     * the same text as bench/e2e's body_of_size.
     */
    static ObjectNode bodyOfSize(int bytes) {
        int overhead = "{\"p\":\"\"}".length();
        return MAPPER.createObjectNode().put("p", "x".repeat(Math.max(0, bytes - overhead)));
    }

    static ObjectNode request(long id, JsonNode body) {
        ObjectNode message = MAPPER.createObjectNode().put("type", "request").put("id", id);
        message.set("body", body);
        return message;
    }

    /** The answer to a ping: the same id, whatever JSON integer it was. */
    static ObjectNode pong(JsonNode id) {
        ObjectNode message = MAPPER.createObjectNode().put("type", "pong");
        message.set("id", id);
        return message;
    }

    /** A valid protocol id: a JSON integer in 0 .. 2^53-1. */
    static boolean isId(JsonNode id) {
        return id != null && id.isIntegralNumber() && id.canConvertToLong()
                && id.longValue() >= 0 && id.longValue() <= (1L << 53) - 1;
    }
}
