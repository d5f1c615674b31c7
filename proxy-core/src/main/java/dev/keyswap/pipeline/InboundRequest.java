package dev.keyswap.pipeline;

import dev.keyswap.auth.ApiKey;
import dev.keyswap.route.Provider;
import dev.keyswap.usage.TokenUsage;
import dev.keyswap.usage.UsageRecord;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.util.AsciiString;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * One request's journey through the pipeline. {@link RequestReader} creates it from an accepted
 * request head and passes it on in place of the head; each later handler fills in its own step
 * (route, key, credential) and passes it on. Event-loop confined; never shared between requests.
 */
public final class InboundRequest {
    final RequestHead head;
    final String requestId;
    final long receivedNanos;
    final long receivedEpochMillis;
    final String clientIp;
    final boolean keepAlive;
    final boolean hasBody;
    /** The client sent {@code Expect: 100-continue}; answered by Keyswap once the token is accepted. */
    final boolean expectContinue;
    final HttpVersion clientVersion;
    /** A WebSocket opening handshake (RFC 6455 §4.1): relayed, then spliced as raw bytes after 101. */
    final boolean webSocket;
    /** Path without query, as received (already validated). */
    final String path;
    /** Raw query without '?', or null. */
    final String rawQuery;

    /** The catalog provider of a {@code /{provider}/…} route, else null. */
    Provider provider;
    /** The connection id of a {@code /proxy/{id}/…} route, else null. */
    String connectionId;
    /** The connection the credential came from, if any. */
    dev.keyswap.connect.Connection connection;
    /** The real credential and target; held only while this request is in flight. */
    dev.keyswap.connect.Credential credential;
    /** The upstream request target before a query-slot credential is added. */
    String uriWithoutCredential;
    /** The path after the provider segment, starting with '/'. */
    String upstreamPath;
    ApiKey apiKey;
    TokenSlot tokenSlot;
    /** Subprotocols the client offered on a WebSocket handshake, the secret one included. */
    java.util.List<String> offeredSubprotocols = java.util.List.of();
    /** Gives back this WebSocket's slot under its key's cap; null when none is held. */
    Runnable socketSlot;
    /** How many of {@link HeadSteps}' steps this request has been through. */
    int headStepsDone;
    /** The request's Origin when CORS allows it: relayed responses carry the CORS fields for it. */
    String corsOrigin;
    /**
     * Set by the {@link RequestReader} for a head it read but refuses (a body over the limit,
     * conflicting framing): the request goes down the pipeline only to be answered with this,
     * past the CORS handler, and the connection then closes.
     */
    ProxyError refusal;
    /** Extra headers every response to this request carries (rate limit state). */
    final List<Map.Entry<AsciiString, String>> responseHeaders = new ArrayList<>(4);

    InboundRequest(RequestHead head, String requestId, long receivedNanos, String clientIp,
                   boolean keepAlive, boolean hasBody, String path, String rawQuery) {
        this.expectContinue = head.http11 && HttpHeaderValues.CONTINUE.contentEqualsIgnoreCase(head.get(HttpHeaderNames.EXPECT));
        this.clientVersion = head.version();
        this.webSocket = WebSocketHandshake.isUpgrade(head);
        this.head = head;
        this.requestId = requestId;
        this.receivedNanos = receivedNanos;
        this.receivedEpochMillis = System.currentTimeMillis();
        this.clientIp = clientIp;
        this.keepAlive = keepAlive;
        this.hasBody = hasBody;
        this.path = path;
        this.rawQuery = rawQuery;
    }

    /** This request as metered: never a body, a query string or a secret. */
    UsageRecord usageRecord(int status, long upstreamMicros, long bytesIn, long bytesOut, TokenUsage reported) {
        String providerName = provider != null ? provider.name() : connection != null ? connection.provider() : null;
        String usedConnection = credential != null ? credential.connectionId() : connectionId;
        return new UsageRecord(Instant.ofEpochMilli(receivedEpochMillis), requestId, apiKey.actorId(), apiKey.id(),
                providerName, usedConnection, head.method.name(), credential.target().basePath() + upstreamPath, status,
                (System.nanoTime() - receivedNanos) / 1000, upstreamMicros, bytesIn, bytesOut,
                reported.model(), reported.inputTokens(), reported.outputTokens(), null);
    }

    /** Returns the socket slot, if one is held; safe to call more than once. */
    void releaseSocketSlot() {
        Runnable slot = socketSlot;
        socketSlot = null;
        if (slot != null) {
            slot.run();
        }
    }

    public RequestHead head() {
        return head;
    }

    public String requestId() {
        return requestId;
    }

    public String path() {
        return path;
    }
}
