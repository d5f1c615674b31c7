package dev.keyswap.pipeline;

import dev.keyswap.connect.Credential;
import dev.keyswap.upstream.UpstreamConnector;
import dev.keyswap.upstream.UpstreamListener;
import dev.keyswap.usage.TokenUsage;
import dev.keyswap.usage.UsageExtractor;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ConnectTimeoutException;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.ssl.SslHandshakeTimeoutException;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.Future;
import java.net.ConnectException;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLException;

/**
 * One request relayed to its upstream and the response relayed back, both as streams.
 *
 * <pre>
 *  request:   CONNECTING ──connected──▶ STREAMING ──body's last piece──▶ SENT
 *  response:  AWAITING ──head──▶ STREAMING ──body's end──▶ DONE
 *
 *  finish(clean): both halves complete → upstream back to its pool, client reads next request
 *  finish(dirty): anything else → upstream closed; client answered with an error if no
 *                 response head has gone out yet, else closed mid-stream
 * </pre>
 *
 * Backpressure is two small rules. Client → upstream: the next body piece is read from the
 * client only while the upstream channel is writable, else on its writability change.
 * Upstream → client: after each upstream read batch is flushed, the next upstream read is asked
 * for only while the client is writable, else on the client's writability change. Both channels
 * live on the same event loop, so no state here is shared across threads.
 *
 * <p>The request goes to the upstream as bytes: its head as the key swap left it
 * ({@link RequestHead#writeUpstream}), its body as the client sent it ({@link RequestBody}).
 * The upstream's response is read as bytes ({@link UpstreamResponseReader}); its head is
 * written to the client as bytes ({@link ClientResponseHead}), and its body's bytes pass on as they
 * came whenever the client's framing is the upstream's (a Content-Length, or chunks to an HTTP/1.1
 * client), else as data, framed anew. The body bytes of one upstream read go to the client as one
 * write at the end of the read ({@link HeldBody}).
 */
final class Exchange implements UpstreamListener, UpstreamResponseReader.Listener {
    private enum RequestState { CONNECTING, STREAMING, SENT }

    private enum ResponseState { AWAITING, STREAMING, DONE }

    /** What of the upstream's body goes to the client: its bytes as they came, or its data (framing removed). */
    private enum Relayed { BYTES, DATA }

    private final RelayHandler relay;
    private final ChannelHandlerContext ctx;
    private final InboundRequest request;
    private final boolean headRequest;
    private RequestState requestState = RequestState.CONNECTING;
    private ResponseState responseState = ResponseState.AWAITING;
    private Channel upstream;
    private boolean finished;
    private boolean requestEnded;
    private boolean clientReadPaused;
    private boolean upstreamReadPaused;
    private Relayed relayed = Relayed.BYTES;
    private boolean upstreamKeepAlive;
    private boolean clientKeepAlive;
    private boolean retried;
    private boolean poolRetried;
    /** The upstream connection failed in TLS: reported as such if it closes before answering. */
    private boolean tlsFailure;
    private int status;
    private long upstreamMicros = -1;
    private long bytesIn;
    private long bytesOut;
    private UsageExtractor usage;
    private final HeldBody body;
    /** The upstream request's head while it waits for the body's first bytes to join it (onConnected). */
    private ByteBuf requestHead;
    /** Where the relay writes bytes already in HTTP/1.1 form: below the client's codec. */
    private final ChannelHandlerContext out;

    Exchange(RelayHandler relay, ChannelHandlerContext ctx, InboundRequest request) {
        this.relay = relay;
        this.ctx = ctx;
        this.request = request;
        this.headRequest = request.head.method == HttpMethod.HEAD;
        this.clientKeepAlive = request.keepAlive;
        this.requestEnded = !request.hasBody;
        this.out = relay.belowEncoder != null ? relay.belowEncoder : ctx;
        this.body = new HeldBody(out);
    }

    // ---- lifecycle -------------------------------------------------------------------------

    void start() {
        relay.metrics.exchanges.increment();
        relay.metrics.active.increment();
        connect();
    }

    private void connect() {
        Future<Channel> lease = relay.connector.acquire(request.credential.target(), ctx.channel().eventLoop(),
                request.credential.tenantAddress());
        if (lease.isDone()) {
            onConnected(lease);
        } else {
            lease.addListener(f -> onConnected(lease));
        }
    }

    private void onConnected(Future<Channel> lease) {
        if (finished) {
            if (lease.isSuccess()) {
                relay.connector.release(lease.getNow());
            }
            return;
        }
        if (!lease.isSuccess()) {
            relay.metrics.upstreamErrors.increment();
            failBeforeResponse(connectError(lease.cause()));
            return;
        }
        upstream = lease.getNow();
        relay.responses.reset(headRequest);
        UpstreamConnector.attach(upstream, this);
        if (requestEnded) {
            // No body, or a retry: a retried request had none, and all of it is in hand.
            upstream.write(request.head.writeUpstream(upstream.alloc(), 0), upstream.voidPromise());
            requestState = RequestState.SENT;
            upstream.flush();
        } else {
            requestState = RequestState.STREAMING;
            if (request.expectContinue) {
                ctx.writeAndFlush(new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.CONTINUE));
            }
            // The body is usually here already and is handed on (onClientBody) as soon as this
            // head's handling returns: the head waits for it, in a buffer with room for a small
            // body to be copied in behind it, so that head and body leave as one buffer in one
            // write (one syscall, one segment). The task sends whatever is still pending once
            // this batch of events is processed, for a body that has not arrived yet.
            long length = request.head.contentLength;
            requestHead = request.head.writeUpstream(upstream.alloc(),
                    length > 0 && length <= HeldBody.FRAME_COPY_MAX_BYTES ? (int) length : 0);
            ctx.read();
            ctx.executor().execute(this::flushPendingRequest);
        }
        // The connection times the response head from the request's end (a body's last piece
        // starts it in onClientBody: an upload longer than the timeout is not a silent upstream,
        // and upstream.idle_timeout covers one that stalls); releasing or detaching the connection
        // clears the deadline, so only a head that arrives on a connection we keep needs to stop
        // it (onResponseHead).
        if (!request.hasBody) {
            UpstreamConnector.expectResponseWithin(upstream, relay.responseHeaderTimeoutMillis);
        }
        upstream.read();
    }

    private void flushPendingRequest() {
        if (!finished && upstream != null) {
            writeRequestHead();
            upstream.flush();
        }
    }

    /** The request head still waiting for its body's first bytes goes on its own. */
    private void writeRequestHead() {
        if (requestHead != null) {
            upstream.write(requestHead, upstream.voidPromise());
            requestHead = null;
        }
    }

    /** Body pieces are ours until the client's last one has been passed on. */
    boolean takesClientContent() {
        return !finished && !requestEnded;
    }

    // ---- client → upstream ---------------------------------------------------------------

    void onClientBody(RequestBody piece) {
        int n = piece.dataBytes;
        bytesIn += n;
        boolean last = piece.last;
        if (upstream == null || !upstream.isActive()) {
            piece.release();
            if (last) {
                requestEnded = true;
                requestState = RequestState.SENT;
            }
            return;
        }
        ByteBuf bytes = piece.content();
        if (requestHead != null && bytes.readableBytes() <= requestHead.writableBytes()) {
            bytes = requestHead.writeBytes(bytes);
            piece.release();
            requestHead = null;
        } else {
            writeRequestHead();
        }
        upstream.write(bytes, upstream.voidPromise());
        if (last) {
            requestEnded = true;
            requestState = RequestState.SENT;
            upstream.flush();
            if (responseState == ResponseState.AWAITING) {
                UpstreamConnector.expectResponseWithin(upstream, relay.responseHeaderTimeoutMillis);
            } else if (responseState == ResponseState.DONE) {
                finish(true);
            }
        } else if (upstream.isWritable()) {
            ctx.read();
        } else {
            // Paused before the flush: a flush that drains the buffer fires the writability
            // change synchronously, and it must find us paused or the resume is lost.
            clientReadPaused = true;
            upstream.flush();
            if (clientReadPaused && upstream.isWritable()) {
                clientReadPaused = false;
                ctx.read();
            }
        }
    }

    void onClientReadComplete() {
        if (upstream != null && requestState == RequestState.STREAMING) {
            upstream.flush();
        }
    }

    @Override
    public void onUpstreamWritabilityChanged() {
        if (clientReadPaused && upstream.isWritable() && !requestEnded) {
            clientReadPaused = false;
            ctx.read();
        }
    }

    // ---- upstream → client ---------------------------------------------------------------

    @Override
    public void onUpstreamMessage(Object msg) {
        if (finished || !(msg instanceof ByteBuf in)) {
            ReferenceCountUtil.release(msg);
            return;
        }
        try {
            relay.responses.read(in, this);
        } finally {
            in.release();
        }
    }

    @Override
    public boolean onResponseHead(ResponseHead head, ByteBuf in, int bodyIndex) {
        int code = head.status;
        if (code == 101) {
            if (request.webSocket && requestEnded) {
                onUpgraded(head, in, bodyIndex);
            } else {
                relay.metrics.upstreamErrors.increment();
                failBeforeResponse(ProxyError.badGateway("upstream_bad_response", "the upstream switched protocols unasked"));
            }
            return false;
        }
        if ((code == 429 || code == 401) && request.credential.connectionId() != null && request.credential.pool().size() > 1
                && restSecret(head.retryAfter())) {
            return false;
        }
        UpstreamConnector.responseStarted(upstream);
        responseState = ResponseState.STREAMING;
        status = code;
        upstreamMicros = (System.nanoTime() - request.receivedNanos) / 1000;
        upstreamKeepAlive = head.keepAlive();
        usage = relay.extractors.forContentType(head.contentType());
        ClientResponseHead.Framing framing = framing(head);
        body.chunked(framing.chunked() && relayed == Relayed.DATA);
        // Room for a small body (or a stream's first events) to leave with the head as one buffer.
        int bodyRoom = bodyless() ? 0 : (int) Math.min(head.contentLength >= 0 ? head.contentLength : Long.MAX_VALUE,
                HeldBody.FRAME_COPY_MAX_BYTES);
        body.head(ClientResponseHead.write(ctx.alloc(), head, request, framing, formatMillis(upstreamMicros), bodyRoom));
        return true;
    }

    /**
     * How the client's response frames its body, and so what of the upstream's body it gets
     * (RFC 9112 section 6): the upstream's bytes as they came when its framing serves the client
     * as well (a Content-Length; chunks to an HTTP/1.1 client), else the data, framed as chunks
     * for an HTTP/1.1 client or ended by the connection's close for an HTTP/1.0 one.
     */
    private ClientResponseHead.Framing framing(ResponseHead head) {
        boolean http11 = request.clientVersion == HttpVersion.HTTP_1_1;
        boolean chunked = false;
        relayed = Relayed.BYTES;
        if (!bodyless() && head.contentLength < 0) {
            if (http11) {
                chunked = true;
                relayed = head.chunked ? Relayed.BYTES : Relayed.DATA;
            } else {
                // HTTP/1.0 has no chunked coding: the body ends when the connection does.
                clientKeepAlive = false;
                relayed = head.chunked ? Relayed.DATA : Relayed.BYTES;
            }
        }
        return new ClientResponseHead.Framing(http11, chunked, !clientKeepAlive, clientKeepAlive && !http11);
    }

    @Override
    public void onBodyData(ByteBuf in, int index, int length) {
        bytesOut += length;
        usage.onContent(in, index, length);
        if (relayed == Relayed.DATA) {
            body.add(in.retainedSlice(index, length));
        }
    }

    @Override
    public void onResponseBytes(ByteBuf in, int index, int length) {
        if (relayed == Relayed.BYTES) {
            body.add(in.retainedSlice(index, length));
        }
    }

    @Override
    public void onResponseEnd(boolean moreBytes) {
        if (moreBytes) {
            // Bytes behind a complete response: the connection is out of step, not to be reused.
            upstreamKeepAlive = false;
        }
        responseState = ResponseState.DONE;
        body.end();
        ctx.flush();
        if (!requestEnded) {
            // The upstream answered before taking the whole body (an early 4xx, say). The rest
            // of the body can't be relayed or skipped safely: both connections close.
            upstreamKeepAlive = false;
            clientKeepAlive = false;
        }
        finish(true);
    }

    @Override
    public void onResponseMalformed(String what) {
        relay.metrics.upstreamErrors.increment();
        upstreamKeepAlive = false;
        if (responseState == ResponseState.AWAITING) {
            failBeforeResponse(ProxyError.badGateway("upstream_bad_response", "the upstream sent a malformed response: " + what));
        } else {
            abort();
        }
    }

    /**
     * A key-pool secret was refused (429, 401): it rests, and a bodiless request (all of it
     * still in hand) is sent again at once with the next secret. Returns true when it was;
     * otherwise the refusal is relayed and only later requests avoid the secret.
     */
    private boolean restSecret(String retryAfter) {
        Credential c = request.credential;
        long now = System.nanoTime();
        relay.keyPool.coolDown(c.connectionId(), c.poolIndex(), now + cooldownNanos(retryAfter));
        if (request.hasBody || poolRetried) {
            return false;
        }
        int next = relay.keyPool.pick(c.connectionId(), c.pool().size(), now);
        if (next == c.poolIndex() || relay.keyPool.isCooling(c.connectionId(), next, now)) {
            return false;
        }
        request.credential = c.withPoolIndex(next);
        try {
            CredentialStep.applyCredential(request);
        } catch (IllegalArgumentException e) {
            // A secret no header can carry, stored before such values were refused: the client
            // gets the refusal in hand rather than no answer at all.
            request.credential = c;
            return false;
        }
        poolRetried = true;
        relay.metrics.retries.increment();
        // The refusal's body is unread: that connection is finished, not pooled.
        UpstreamConnector.detach(upstream);
        upstream.close();
        upstream = null;
        connect();
        return true;
    }

    private static long cooldownNanos(String retryAfter) {
        long seconds = 30;
        if (retryAfter != null) {
            try {
                seconds = Math.max(1, Math.min(300, Long.parseLong(retryAfter.trim())));
            } catch (NumberFormatException e) {
                // an HTTP date: keep the default
            }
        }
        return TimeUnit.SECONDS.toNanos(seconds);
    }

    /**
     * The upstream accepted a WebSocket: the 101 goes to the client, and both connections leave
     * HTTP for the splice. The upstream connection is never pooled again. Bytes the upstream sent
     * right behind its 101 are the first of the socket's.
     */
    private void onUpgraded(ResponseHead head, ByteBuf in, int bodyIndex) {
        HttpResponse response = head.toHttpResponse();
        status = 101;
        upstreamMicros = (System.nanoTime() - request.receivedNanos) / 1000;
        HttpHeaders h = response.headers();
        WebSocketHandshake.rewriteResponse(response, request.offeredSubprotocols);
        h.set(Responses.REQUEST_ID, request.requestId);
        h.set(Responses.PROXY_DURATION, formatMillis(upstreamMicros));
        // A full response with no body: the codec writes the 101 and nothing after it.
        FullHttpResponse switching = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.SWITCHING_PROTOCOLS,
                Unpooled.EMPTY_BUFFER, h, io.netty.handler.codec.http.EmptyHttpHeaders.INSTANCE);
        finished = true;
        relay.metrics.active.decrement();
        relay.metrics.webSockets.increment();
        UpstreamConnector.detach(upstream);
        relay.finished(this);
        ctx.writeAndFlush(switching);
        ByteBuf ahead = bodyIndex < in.writerIndex() ? in.retainedSlice(bodyIndex, in.writerIndex() - bodyIndex) : null;
        WebSocketSplice.start(relay, request, upstreamMicros, ctx, upstream, ahead, () -> {
            relay.metrics.webSockets.decrement();
            request.releaseSocketSlot();
        });
    }

    @Override
    public void onUpstreamReadComplete() {
        if (finished) {
            return;
        }
        body.write();
        ctx.flush();
        if (responseState != ResponseState.DONE) {
            if (ctx.channel().isWritable()) {
                upstream.read();
            } else {
                upstreamReadPaused = true;
            }
        }
    }

    void onClientWritabilityChanged() {
        if (upstreamReadPaused && ctx.channel().isWritable() && upstream != null && !finished) {
            upstreamReadPaused = false;
            upstream.read();
        }
    }

    /** The response to the client can have no body (RFC 9112 section 6.3), whatever its head says. */
    private boolean bodyless() {
        return headRequest || status == 204 || status == 304;
    }

    // ---- failures --------------------------------------------------------------------------

    @Override
    public void onResponseDeadline() {
        if (!finished && responseState == ResponseState.AWAITING) {
            relay.metrics.upstreamErrors.increment();
            failBeforeResponse(ProxyError.gatewayTimeout("upstream_timeout", "the upstream did not answer in time"));
        }
    }

    @Override
    public void onUpstreamIdle() {
        if (finished) {
            return;
        }
        relay.metrics.upstreamErrors.increment();
        if (responseState == ResponseState.AWAITING) {
            failBeforeResponse(ProxyError.gatewayTimeout("upstream_timeout", "the upstream connection was idle too long"));
        } else {
            abort();
        }
    }

    @Override
    public void onUpstreamFailure(Throwable cause) {
        // The handler closes the connection next; onUpstreamClosed decides what the client sees.
        if (cause instanceof SSLException) {
            tlsFailure = true;
        }
    }

    @Override
    public void onUpstreamClosed() {
        if (finished) {
            return;
        }
        if (responseState == ResponseState.AWAITING && !request.hasBody && !retried
                && idempotent(request.head.method) && UpstreamConnector.wasReused(upstream)) {
            // A pooled connection the upstream had closed just as we sent on it. The request has
            // no body, so all of it is still in hand and it can go again on a fresh connection.
            // Only if sending it twice means what sending it once does: the upstream may have
            // acted on it before closing, and a proxy must not retry a POST on its own
            // (RFC 9110 section 9.2.2).
            retried = true;
            relay.metrics.retries.increment();
            upstream = null;
            connect();
            return;
        }
        if (responseState == ResponseState.STREAMING && relay.responses.closed()) {
            // The body was delimited by the connection's close, and this is its end.
            upstreamKeepAlive = false;
            onResponseEnd(false);
            return;
        }
        relay.metrics.upstreamErrors.increment();
        if (responseState == ResponseState.AWAITING) {
            failBeforeResponse(tlsFailure
                    ? ProxyError.badGateway("upstream_tls_error", "TLS with the upstream failed")
                    : ProxyError.badGateway("upstream_reset", "the upstream closed the connection before answering"));
        } else {
            abort();
        }
    }

    /**
     * The request body grew past the limit as it came (chunked). The upstream has had part of
     * it, so its connection goes; the client gets 413 if nothing of the answer has gone out.
     */
    void onClientBodyTooLarge(ProxyError error) {
        if (finished) {
            return;
        }
        failBeforeResponse(error);
    }

    void onClientClosed() {
        if (finished) {
            return;
        }
        relay.metrics.clientAborts.increment();
        if (status == 0) {
            status = 499;
        }
        clientKeepAlive = false;
        finish(false);
    }

    private static ProxyError connectError(Throwable cause) {
        if (cause instanceof dev.keyswap.upstream.AddressNotAllowedException) {
            return ProxyError.forbidden("upstream_address_not_allowed",
                    "the connection's upstream resolves to a loopback, private or link-local address");
        }
        if (cause instanceof ConnectTimeoutException || cause instanceof SslHandshakeTimeoutException) {
            return ProxyError.gatewayTimeout("upstream_timeout", "connecting to the upstream timed out");
        }
        if (cause instanceof SSLException) {
            return ProxyError.badGateway("upstream_tls_error", "TLS with the upstream failed: " + cause.getMessage());
        }
        if (cause instanceof ConnectException) {
            return ProxyError.badGateway("upstream_unreachable", "the upstream refused the connection");
        }
        return ProxyError.badGateway("upstream_unreachable", "the upstream could not be reached");
    }

    /** Answers the client with an error: only possible while no response head has gone out. */
    private void failBeforeResponse(ProxyError error) {
        if (responseState != ResponseState.AWAITING) {
            abort();
            return;
        }
        status = error.status().code();
        upstreamKeepAlive = false;
        // The rest of the request body, if any, was never read: the connection can't be reused.
        if (!requestEnded) {
            clientKeepAlive = false;
        }
        FullHttpResponse response = Responses.forMethod(request, Responses.errorResponse(ctx, request, error));
        response.setProtocolVersion(request.clientVersion);
        if (!clientKeepAlive) {
            response.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
        }
        responseState = ResponseState.DONE;
        ctx.write(response, ctx.voidPromise());
        finish(requestEnded);
    }

    /** Mid-stream failure: the response is already partly out, so the client connection closes. */
    private void abort() {
        upstreamKeepAlive = false;
        clientKeepAlive = false;
        finish(false);
    }

    private void finish(boolean clean) {
        if (finished) {
            return;
        }
        finished = true;
        if (requestHead != null) {
            requestHead.release(); // the exchange ended before its request was sent
            requestHead = null;
        }
        relay.metrics.active.decrement();
        request.releaseSocketSlot();
        // Before the connection can start its next exchange, which reuses the usage extractor.
        recordUsage();
        if (upstream != null) {
            boolean reusable = clean && upstreamKeepAlive && requestEnded && responseState == ResponseState.DONE
                    && upstream.isActive();
            if (reusable) {
                relay.connector.release(upstream);
            } else {
                UpstreamConnector.detach(upstream);
                upstream.close();
            }
        }
        if (ctx.channel().isActive()) {
            // What arrived before a failure still goes out, ahead of the close.
            body.write();
            if (clean && clientKeepAlive && requestEnded) {
                ctx.flush();
                relay.finished(this);
                ctx.read();
            } else {
                // A request body not read to its end is the client's to finish sending first
                // (LingeringClose); else the connection closes once the answer is out.
                ctx.writeAndFlush(Unpooled.EMPTY_BUFFER)
                        .addListener(requestEnded ? ChannelFutureListener.CLOSE : LingeringClose.AFTER_WRITE);
                relay.finished(this);
            }
        } else {
            body.release();
            relay.finished(this);
        }
    }

    private void recordUsage() {
        relay.usageLog.record(request.usageRecord(status, Math.max(upstreamMicros, 0), bytesIn, bytesOut,
                usage == null ? TokenUsage.NONE : usage.result()));
    }

    private static String formatMillis(long micros) {
        long m = Math.max(micros, 0);
        long whole = m / 1000;
        long frac = m % 1000;
        return whole + "." + (frac < 10 ? "00" : frac < 100 ? "0" : "") + frac;
    }

    /** GET, HEAD, OPTIONS, TRACE, PUT and DELETE (RFC 9110 section 9.2.2). */
    static boolean idempotent(HttpMethod method) {
        return method == HttpMethod.GET || method == HttpMethod.HEAD || method == HttpMethod.OPTIONS
                || method == HttpMethod.TRACE || method == HttpMethod.PUT || method == HttpMethod.DELETE;
    }
}
