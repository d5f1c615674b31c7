package dev.keyswap.pipeline;

import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.DuplexChannel;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.ReferenceCountUtil;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * Closes a client connection whose request was answered before all of it was read (a body over
 * the limit, a body Keyswap never needed), the way nginx's {@code lingering_close} does: the
 * answer goes out, then this side's output is shut (FIN), and what the client still sends is read
 * and thrown away until it closes its side or {@link #LINGER_MILLIS} pass.
 *
 * <p>Closed at once instead, a socket with unread bytes in its receive queue is reset (RST), and a
 * client still writing its body then sees "connection reset" on its write, or finds the answer
 * it had not read yet discarded with its receive queue: an SDK uploading a file over the limit
 * reported a network error instead of Keyswap's {@code 413}.
 */
final class LingeringClose implements ChannelFutureListener {
    /** The longest the rest of a request is read for after its answer. */
    static final long LINGER_MILLIS = 5_000;
    static final LingeringClose AFTER_WRITE = new LingeringClose();

    private LingeringClose() {
    }

    /** On the answer's write: shuts this side's output, discards what comes in, closes at the client's close or the deadline. */
    @Override
    public void operationComplete(ChannelFuture written) {
        Channel ch = written.channel();
        if (!written.isSuccess() || !ch.isActive() || !(ch instanceof DuplexChannel duplex) || duplex.isInputShutdown()) {
            ch.close();
            return;
        }
        // The deadline holds from the answer's write on, whatever stalls after it (close_notify's
        // own write included), and goes when the connection does.
        ScheduledFuture<?> deadline = ch.eventLoop().schedule(() -> ch.close(), LINGER_MILLIS, TimeUnit.MILLISECONDS);
        ch.closeFuture().addListener(closed -> deadline.cancel(false));
        SslHandler tls = ch.pipeline().get(SslHandler.class);
        if (tls != null) {
            // TLS's own end first (close_notify), then the socket's output below it.
            tls.closeOutbound().addListener(f -> shutOutputAndDrain(duplex));
        } else {
            shutOutputAndDrain(duplex);
        }
    }

    private static void shutOutputAndDrain(DuplexChannel ch) {
        if (!ch.isActive()) {
            return;
        }
        ch.shutdownOutput().addListener(shut -> {
            if (!shut.isSuccess() || !ch.isActive()) {
                ch.close();
                return;
            }
            // Ahead of every other handler (TLS included): what arrives now is only to be dropped.
            ch.pipeline().addFirst(new Discard());
        });
    }

    /**
     * Drops everything read, asks for more, and closes once the client has closed its side. It
     * asks from its own place at the pipeline's head: a {@code read()} from the channel would
     * meet the request reader, which, stopped, answers none.
     */
    private static final class Discard extends ChannelInboundHandlerAdapter {
        @Override
        public void handlerAdded(ChannelHandlerContext ctx) {
            ctx.read();
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ReferenceCountUtil.release(msg);
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            ctx.read();
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt instanceof ChannelInputShutdownEvent) {
                ctx.close();
                return;
            }
            ctx.fireUserEventTriggered(evt);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close(); // a reset while we linger: the answer was out, nothing more to do
        }
    }
}
