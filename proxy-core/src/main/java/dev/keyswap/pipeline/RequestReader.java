package dev.keyswap.pipeline;

import dev.keyswap.usage.RequestIds;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.util.ReferenceCountUtil;
import java.net.InetSocketAddress;

/**
 * Reads the client's requests from its bytes, one message per {@code read()}: a head becomes an
 * {@link InboundRequest} (one {@link RequestGuard} refuses carries that refusal, for
 * {@link HeadSteps} to answer past the CORS handler; one that cannot be read at all is answered
 * here), and its body is passed on in
 * pieces as it came ({@link RequestBody}), framed by {@link BodyFraming} but neither decoded nor
 * copied. It takes the place of Netty's request decoder, of the flow-control handler that held
 * decoded messages until they were asked for, and of the guard as a handler of its own: the
 * decoder built a header object, an entry and two Strings per field, and the key swap then removed
 * and set fields in it before the upstream's encoder wrote them all out again.
 *
 * <p>Demand is the plain contract every later handler relies on: a {@code read()} is answered by
 * one message, from bytes already here or, when none make one, by reading the socket. Nothing is
 * handed on unasked, so a step that parks a request (a token lookup) holds its body back as well,
 * and a request pipelined behind another waits until the first is done. Bytes not yet asked for
 * stay here; when the connection leaves HTTP (a WebSocket) they go on to whoever follows once this
 * handler is removed.
 *
 * <p>The socket itself is read ahead of that demand whenever nothing is held, so one read is
 * always outstanding while a request is in flight: its bytes (a pipelined request, or a close) are
 * held here, at most one read's worth, as no further read is made while any are. Letting the read
 * lapse instead made the transport drop the socket's read interest at every request's end and set
 * it again at the next (two {@code epoll_ctl} calls per request under epoll), and a client that
 * went away before the answer was seen only through the transport's hang-up event, which the nio
 * transport does not have: there the exchange ran on until the upstream answered.
 *
 * <p>Refused: request lines and heads over their limits (414, 431), malformed ones (400), and
 * whatever {@link RequestGuard} refuses; each answered with SPEC's error and a close. A body whose
 * framing turns malformed closes the connection (its head was already accepted, so nothing
 * sensible can be answered). A chunked body that grows past the body limit stops the reading
 * and is told on as {@link BodyTooLarge}: the exchange answers 413 if it has not begun its
 * answer, and closes the connection either way.
 */
public final class RequestReader extends ChannelDuplexHandler implements BodyFraming.Data {
    /** This handler's name in the client's pipeline. */
    public static final String NAME = "reader";
    /**
     * The user event fired, in place of the next body piece, when a chunked body has grown past
     * the limit (a Content-Length over it is refused with its head). Nothing more is read; the
     * connection is for whoever gets this to answer with {@code error} and close.
     */
    record BodyTooLarge(ProxyError error) {
    }
    private static final byte LF = '\n';

    private final int maxInitialLineBytes;
    private final int maxHeaderBytes;
    private final long maxBodyBytes;
    private final BodyFraming body;
    /** Bytes received and not yet handed on; null when there are none. */
    private ByteBuf pending;
    /** A {@code read()} from downstream not yet answered with a message. */
    private boolean wanted;
    private boolean dispatching;
    /** Reading a body (until {@link #body} is done), else a head. */
    private boolean inBody;
    /** Refused or closed: nothing more is read as HTTP. */
    private boolean stopped;
    /** How far into {@link #pending} a head's end was looked for already. */
    private int searched;
    private long bodyDataBytes;
    private int pieceDataBytes;
    /** Where body pieces go on from: this reader's own context until {@link #sendBodyPast} says otherwise. */
    private ChannelHandlerContext bodyExit;
    private String clientIp;

    /**
     * @param maxBodyBytes request body limit, 0 for none
     */
    public RequestReader(int maxInitialLineBytes, int maxHeaderBytes, long maxBodyBytes) {
        this.maxInitialLineBytes = maxInitialLineBytes;
        this.maxHeaderBytes = maxHeaderBytes;
        this.maxBodyBytes = maxBodyBytes;
        this.body = new BodyFraming(maxHeaderBytes, "server.max_header_bytes");
    }

    /**
     * Lets body pieces skip the steps that only look at request heads: they are fired from
     * {@code lastHeadStep}'s context, so the first handler they reach is the one after that step
     * (the relay). Safe because a head a step holds holds its body too: nobody asks for it meanwhile.
     */
    public void sendBodyPast(ChannelHandlerContext lastHeadStep) {
        bodyExit = lastHeadStep;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        if (bodyExit == null) {
            bodyExit = ctx;
        }
    }

    @Override
    public void read(ChannelHandlerContext ctx) {
        wanted = true;
        dispatch(ctx);
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!(msg instanceof ByteBuf in)) {
            ctx.fireChannelRead(msg);
            return;
        }
        if (stopped) {
            in.release();
            return;
        }
        pending = pending == null ? in : ByteToMessageDecoder.MERGE_CUMULATOR.cumulate(ctx.alloc(), pending, in);
        dispatch(ctx);
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        ctx.fireChannelReadComplete();
        // A read that ended without a whole message leaves the demand standing.
        if (wanted && !stopped && ctx.channel().isActive()) {
            ctx.read();
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        stop();
        ctx.fireChannelInactive();
    }

    /** The connection leaves HTTP (a WebSocket): bytes already here go on to the next handler. */
    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        ByteBuf rest = pending;
        pending = null;
        if (rest != null && rest.isReadable() && !stopped) {
            ctx.fireChannelRead(rest);
            ctx.fireChannelReadComplete();
        } else if (rest != null) {
            rest.release();
        }
    }

    /**
     * Answers the demand from the bytes here, one message at a time; reads the socket when they
     * make none. A {@code read()} made while a message is being handed on only sets the demand:
     * the loop answers it once that call returns, so pipelined requests do not deepen the stack.
     */
    private void dispatch(ChannelHandlerContext ctx) {
        if (dispatching) {
            return;
        }
        dispatching = true;
        try {
            while (wanted && !stopped) {
                boolean handedOn = pending != null && (inBody ? readBody(ctx) : readHead(ctx));
                if (pending != null && !pending.isReadable()) {
                    releasePending();
                }
                if (!handedOn) {
                    if (!stopped && ctx.channel().isActive()) {
                        ctx.read();
                    }
                    return;
                }
            }
            if (pending == null && !stopped && ctx.channel().isActive()) {
                ctx.read(); // read ahead: see the class comment
            }
        } finally {
            dispatching = false;
        }
    }

    /** Hands on the next head, or refuses it; false when more bytes are needed. */
    private boolean readHead(ChannelHandlerContext ctx) {
        ByteBuf in = pending;
        int start = in.readerIndex();
        int end = in.writerIndex();
        if (searched == 0) {
            // RFC 9112 section 2.2: empty lines before a request line are ignored.
            while (start < end && (in.getByte(start) == '\r' || in.getByte(start) == '\n')) {
                start++;
            }
            in.readerIndex(start);
        }
        if (start == end) {
            return false;
        }
        int lineEnd = in.indexOf(start, Math.min(end, start + maxInitialLineBytes + 2), LF);
        if (lineEnd < 0) {
            return end - start > maxInitialLineBytes + 1 && refuse(ctx, RequestGuard.lineTooLong());
        }
        if (lineEnd - start - 1 > maxInitialLineBytes) {
            return refuse(ctx, RequestGuard.lineTooLong());
        }
        int headEnd = -1;
        int i = start + searched > lineEnd ? in.indexOf(start + searched, end, LF) : lineEnd;
        while (i >= 0) {
            // A line ended by a bare LF is refused, as Netty's decoder does since 4.2 (RFC 9112
            // section 2.2 lets a recipient accept it): a load balancer in front that reads
            // the LF as part of a value would see different fields than Keyswap does.
            if (in.getByte(i - 1) != '\r') {
                return refuse(ctx, RequestGuard.malformed("a line ends in LF without CR"));
            }
            if (i + 2 < end && in.getByte(i + 1) == '\r' && in.getByte(i + 2) == '\n') {
                headEnd = i + 3;
                break;
            }
            i = in.indexOf(i + 1, end, LF);
        }
        int limit = lineEnd + 1 + maxHeaderBytes + 2;
        if (headEnd < 0) {
            if (end > limit) {
                return refuse(ctx, RequestGuard.headTooLarge());
            }
            searched = Math.max(0, end - start - 2);
            return false;
        }
        searched = 0;
        if (headEnd > limit) {
            return refuse(ctx, RequestGuard.headTooLarge());
        }
        byte[] bytes = new byte[headEnd - start];
        in.getBytes(start, bytes);
        in.readerIndex(headEnd);
        RequestHead head = new RequestHead(bytes);
        String problem = head.parse();
        if (problem != null) {
            return refuse(ctx, RequestGuard.malformed(problem));
        }
        ProxyError error = RequestGuard.check(head, maxBodyBytes);
        if (error != null) {
            // A head that parsed: its answer goes through the CORS handler like any other, so
            // a browser app can read why (a 413 for an upload too large) instead of a CORS failure.
            stop();
            InboundRequest refused = inboundRequest(ctx, head, false);
            refused.refusal = error;
            ctx.fireChannelRead(refused);
            return true;
        }
        boolean hasBody = head.chunked || head.contentLength > 0;
        if (head.chunked) {
            body.chunked();
        } else {
            body.length(Math.max(head.contentLength, 0));
        }
        inBody = hasBody;
        bodyDataBytes = 0;
        wanted = false;
        ctx.fireChannelRead(inboundRequest(ctx, head, hasBody));
        return true;
    }

    private InboundRequest inboundRequest(ChannelHandlerContext ctx, RequestHead head, boolean hasBody) {
        String target = head.target;
        int q = target.indexOf('?');
        String path = q < 0 ? target : target.substring(0, q);
        String query = q < 0 || q == target.length() - 1 ? null : target.substring(q + 1);
        return new InboundRequest(head, RequestIds.next(), System.nanoTime(), clientIp(ctx), head.keepAlive(),
                hasBody, path, query);
    }

    /** Hands on the body's bytes that are here, up to its end; false when there are none. */
    private boolean readBody(ChannelHandlerContext ctx) {
        ByteBuf in = pending;
        int from = in.readerIndex();
        pieceDataBytes = 0;
        int to = body.read(in, from, in.writerIndex(), this);
        if (to < 0) {
            // Mid-body framing error: nothing sensible can be answered; whoever holds the
            // exchange sees the close and aborts its upstream side.
            return close(ctx);
        }
        bodyDataBytes += pieceDataBytes;
        if (maxBodyBytes > 0 && bodyDataBytes > maxBodyBytes) {
            stop();
            bodyExit.fireUserEventTriggered(new BodyTooLarge(ProxyError.bodyTooLarge(maxBodyBytes)));
            return true;
        }
        if (to == from) {
            return false;
        }
        boolean last = body.isDone();
        inBody = !last;
        wanted = false;
        ByteBuf piece;
        if (to == in.writerIndex()) {
            // The piece is all that is here (a small body that came with its head): the buffer
            // itself goes on, without the slice's retain and the release that would follow.
            pending = null;
            piece = in;
        } else {
            piece = in.readRetainedSlice(to - from);
        }
        bodyExit.fireChannelRead(new RequestBody(piece, pieceDataBytes, last));
        return true;
    }

    @Override
    public void onBodyData(ByteBuf in, int index, int length) {
        pieceDataBytes += length;
    }

    private boolean refuse(ChannelHandlerContext ctx, ProxyError error) {
        stop();
        Responses.errorAndClose(ctx, RequestIds.next(), error);
        return true;
    }

    private boolean close(ChannelHandlerContext ctx) {
        stop();
        ctx.close();
        return true;
    }

    /** Reads nothing more: what is held is released, and what arrives from now on too. */
    private void stop() {
        stopped = true;
        releasePending();
    }

    private void releasePending() {
        if (pending != null) {
            ReferenceCountUtil.release(pending);
            pending = null;
        }
    }

    private String clientIp(ChannelHandlerContext ctx) {
        if (clientIp == null) {
            clientIp = ctx.channel().remoteAddress() instanceof InetSocketAddress a && a.getAddress() != null
                    ? a.getAddress().getHostAddress() : "unknown";
        }
        return clientIp;
    }
}
