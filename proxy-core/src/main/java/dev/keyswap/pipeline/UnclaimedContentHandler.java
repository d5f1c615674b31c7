package dev.keyswap.pipeline;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.HttpContent;
import io.netty.util.ReferenceCountUtil;

/**
 * The tail: releases body content of requests that were answered before reaching the relay
 * (the empty last content of a bodiless request), and on its end asks for the next request.
 * Anything else that gets here is a bug upstream in the pipeline; it is released, not leaked.
 */
public final class UnclaimedContentHandler extends ChannelInboundHandlerAdapter {
    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        boolean content = msg instanceof HttpContent;
        ReferenceCountUtil.release(msg);
        // Until the last content, the rest of the body; after it, the next request.
        if (content && ctx.channel().isActive()) {
            ctx.read();
        }
    }
}
