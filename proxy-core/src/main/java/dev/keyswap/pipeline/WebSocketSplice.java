package dev.keyswap.pipeline;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.util.ReferenceCountUtil;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * An upgraded WebSocket: after the upstream's 101 the HTTP handlers leave both pipelines and the
 * two connections are spliced as raw bytes. Frames are never decoded and re-encoded, so frame
 * sizes, fragmentation, extensions, pings and close codes pass exactly as sent.
 *
 * <p>Backpressure is the relay's rule: a side is read only while the other side is writable,
 * and resumes on the other side's writability change. Either side closing closes the other once
 * what it sent has been flushed, or after {@link #PEER_CLOSE_GRACE_MILLIS} if that flush cannot
 * finish; the usage record is written when both are gone.
 */
final class WebSocketSplice {
    /** How long a side may take to flush what it was sent once the other side has closed. */
    static final long PEER_CLOSE_GRACE_MILLIS = 10_000;
    private final RelayHandler relay;
    private final InboundRequest request;
    private final long upstreamMicros;
    private final Side client;
    private final Side upstream;
    private final Runnable onEnd;
    private final RealtimeUsageTap usageTap;
    private int closedSides;

    private WebSocketSplice(RelayHandler relay, InboundRequest request, long upstreamMicros, Channel clientChannel,
                            Channel upstreamChannel, Runnable onEnd) {
        this.relay = relay;
        this.request = request;
        this.upstreamMicros = upstreamMicros;
        this.onEnd = onEnd;
        this.usageTap = new RealtimeUsageTap(RealtimeUsageTap.modelAskedFor(request.rawQuery));
        this.client = new Side(clientChannel);
        this.upstream = new Side(upstreamChannel);
        client.peer = upstream;
        upstream.peer = client;
    }

    /**
     * The client side's keep-alive idle timer goes with the HTTP handlers: the upstream side's idle
     * timeout, which sees traffic in both directions, governs the socket.
     *
     * Replaces the HTTP handlers of both connections with the splice and starts reading. Bytes the
     * client's request reader had already received (frames sent right behind the handshake) flow
     * into the splice as the reader is removed; {@code upstreamAhead}, the bytes the upstream sent right
     * behind its 101 (or null), go to the client first.
     */
    static void start(RelayHandler relay, InboundRequest request, long upstreamMicros, ChannelHandlerContext clientCtx,
                      Channel upstreamChannel, ByteBuf upstreamAhead, Runnable onEnd) {
        WebSocketSplice splice = new WebSocketSplice(relay, request, upstreamMicros, clientCtx.channel(), upstreamChannel, onEnd);
        ChannelPipeline cp = clientCtx.pipeline();
        for (String name : cp.names()) {
            // Everything but TLS and the request reader (which goes last, handing its bytes on).
            if (!name.equals("tls") && !name.equals(RequestReader.NAME) && cp.context(name) != null) {
                cp.remove(name);
            }
        }
        cp.addAfter(RequestReader.NAME, "splice", splice.client);
        cp.remove(RequestReader.NAME);
        ChannelPipeline up = upstreamChannel.pipeline();
        up.replace("upstream", "splice", splice.upstream);
        if (upstreamAhead != null) {
            splice.upstream.channelRead(up.context("splice"), upstreamAhead);
            splice.client.channel.flush();
        }
        splice.client.channel.read();
        splice.upstream.channel.read();
    }

    private void sideClosed() {
        if (++closedSides == 2) {
            relay.usageLog.record(request.usageRecord(101, upstreamMicros, client.bytesRead, upstream.bytesRead, usageTap.result()));
            onEnd.run();
        }
    }

    /** One connection's end of the splice. */
    private final class Side extends ChannelInboundHandlerAdapter {
        final Channel channel;
        Side peer;
        long bytesRead;
        boolean readPaused;
        boolean closed;

        Side(Channel channel) {
            this.channel = channel;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (!(msg instanceof ByteBuf buf)) {
                ReferenceCountUtil.release(msg);
                return;
            }
            bytesRead += buf.readableBytes();
            if (this == upstream) {
                usageTap.onBytes(buf);
            }
            if (peer.channel.isActive()) {
                peer.channel.write(buf, peer.channel.voidPromise());
            } else {
                buf.release();
            }
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            peer.channel.flush();
            if (peer.channel.isWritable()) {
                channel.read();
            } else {
                readPaused = true;
            }
        }

        @Override
        public void channelWritabilityChanged(ChannelHandlerContext ctx) {
            if (channel.isWritable() && peer.readPaused) {
                peer.readPaused = false;
                peer.channel.read();
            }
            ctx.fireChannelWritabilityChanged();
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            if (!closed) {
                closed = true;
                if (peer.channel.isActive()) {
                    peer.channel.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
                    // A peer that reads nothing (a stalled mobile client) never lets that flush
                    // finish, and no idle timer is left to end it: the client's went with the HTTP
                    // handlers, the upstream's with its connection. Unclosed, it held its token's
                    // WebSocket slot and its usage record for good.
                    Channel stuck = peer.channel;
                    ScheduledFuture<?> grace = stuck.eventLoop().schedule(() -> stuck.close(), PEER_CLOSE_GRACE_MILLIS,
                            TimeUnit.MILLISECONDS);
                    stuck.closeFuture().addListener(closed -> grace.cancel(false));
                }
                sideClosed();
            }
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt instanceof IdleStateEvent) {
                // No byte either way for the idle timeout: both ends go.
                ctx.close();
                peer.channel.close();
                return;
            }
            ctx.fireUserEventTriggered(evt);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }
}
