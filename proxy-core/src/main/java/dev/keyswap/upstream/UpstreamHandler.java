package dev.keyswap.upstream;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.util.AttributeKey;
import io.netty.util.ReferenceCountUtil;

/**
 * Last handler of an upstream connection. Leased, it forwards every event to its exchange; idle
 * in the pool, any byte or event from the upstream means the connection is no longer clean
 * (a late response, a close), so it is closed and leaves the pool.
 */
final class UpstreamHandler extends ChannelInboundHandlerAdapter {
    /**
     * This handler, on its channel while it is in the pipeline. Several calls per request find it
     * (lease, deadline, response head, release); {@code pipeline().get(Class)} walked the pipeline
     * comparing classes for each (~0.6 % of the event loop in a profile).
     */
    private static final AttributeKey<UpstreamHandler> SELF = AttributeKey.valueOf(UpstreamHandler.class, "self");

    private final UpstreamPool pool;
    private final UpstreamPool.Key key;
    private final IdleTimeoutHandler idle;
    private UpstreamListener listener;
    boolean reused;
    long idleSinceNanos;

    UpstreamHandler(UpstreamPool pool, UpstreamPool.Key key, IdleTimeoutHandler idle) {
        this.pool = pool;
        this.key = key;
        this.idle = idle;
    }

    /** The connection's handler, or null once it has left the pipeline (a spliced WebSocket). */
    static UpstreamHandler of(Channel ch) {
        return ch.attr(SELF).get();
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        ctx.channel().attr(SELF).set(this);
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        ctx.channel().attr(SELF).compareAndSet(this, null);
    }

    /** The pool that opened this connection (its event loop's). */
    UpstreamPool pool() {
        return pool;
    }

    UpstreamPool.Key key() {
        return key;
    }

    void attach(UpstreamListener l) {
        listener = l;
    }

    void detach() {
        listener = null;
        idle.clearDeadline();
    }

    void expectResponseWithin(long nanos) {
        idle.deadlineIn(nanos);
    }

    void responseStarted() {
        idle.clearDeadline();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (listener != null) {
            listener.onUpstreamMessage(msg);
        } else {
            ReferenceCountUtil.release(msg);
            ctx.close();
        }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        if (listener != null) {
            listener.onUpstreamReadComplete();
        }
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        if (listener != null) {
            listener.onUpstreamWritabilityChanged();
        }
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof IdleStateEvent) {
            if (listener != null) {
                listener.onUpstreamIdle();
            } else {
                ctx.close();
            }
        } else if (evt == IdleTimeoutHandler.DEADLINE_PASSED) {
            if (listener != null) {
                listener.onResponseDeadline();
            }
        } else {
            ReferenceCountUtil.release(evt);
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (listener != null) {
            listener.onUpstreamFailure(cause);
        }
        ctx.close();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        UpstreamListener l = listener;
        listener = null;
        if (l != null) {
            l.onUpstreamClosed();
        } else {
            pool.forget(ctx.channel(), key);
        }
    }
}
