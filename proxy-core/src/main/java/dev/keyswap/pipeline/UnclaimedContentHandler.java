package dev.keyswap.pipeline;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.ReferenceCountUtil;

/**
 * The tail: releases what no handler took, so nothing leaks. That is the body of a request
 * answered before it reached the relay, or of one whose exchange ended before its body did; both
 * close the connection once the answer is out ({@link Responses#answer} keeps a connection only
 * for a bodiless request), so no more of the body is asked for.
 */
public final class UnclaimedContentHandler extends ChannelInboundHandlerAdapter {
    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        ReferenceCountUtil.release(msg);
    }
}
