package tether.peer.netty;

import com.fasterxml.jackson.databind.JsonNode;
import io.netty.util.concurrent.Promise;

/**
 * One request on its way: the body to send and the promise its response completes. Written to
 * a channel whose pipeline ends in {@link ProtocolHandler}, which gives it an id.
 */
final class Call {
    final JsonNode body;
    final Promise<JsonNode> result;

    Call(JsonNode body, Promise<JsonNode> result) {
        this.body = body;
        this.result = result;
    }

    /** Succeeds with the response's body if it echoes the request's, fails otherwise. */
    void answer(JsonNode response) {
        JsonNode error = response.get("error");
        if (error != null) {
            result.tryFailure(new IllegalStateException("server error " + error));
            return;
        }
        JsonNode echoed = response.get("body");
        if (body.equals(echoed))
            result.trySuccess(echoed);
        else
            result.tryFailure(new IllegalStateException("the response does not echo the body"));
    }
}
