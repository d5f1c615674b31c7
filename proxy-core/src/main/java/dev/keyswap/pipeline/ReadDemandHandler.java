package dev.keyswap.pipeline;

import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;

/**
 * Keeps a downstream {@code read()} alive until a message answers it. Netty's
 * FlowControlHandler counts a {@code channelReadComplete} from the codec as satisfying every
 * outstanding read, even when no message reached us in that cycle; the next decoded message then
 * waits in its queue for a read nobody will issue, and the connection stalls. Every handler after
 * this one can rely on the plain contract instead: one {@code read()}, at least one message.
 */
public final class ReadDemandHandler extends ChannelDuplexHandler {
    private boolean wanted;

    @Override
    public void read(ChannelHandlerContext ctx) {
        wanted = true;
        ctx.read();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        wanted = false;
        ctx.fireChannelRead(msg);
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        ctx.fireChannelReadComplete();
        if (wanted && ctx.channel().isActive()) {
            ctx.read();
        }
    }
}
