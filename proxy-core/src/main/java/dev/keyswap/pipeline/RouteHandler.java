package dev.keyswap.pipeline;

import dev.keyswap.route.Provider;
import dev.keyswap.route.ProviderCatalog;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;

/** {@code /{provider}/{path…}} → the catalog provider and the path remainder sent upstream. */
public final class RouteHandler extends ChannelInboundHandlerAdapter {
    private final ProviderCatalog catalog;

    public RouteHandler(ProviderCatalog catalog) {
        this.catalog = catalog;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof InboundRequest request) {
            String path = request.path;
            int slash = path.indexOf('/', 1);
            String first = slash < 0 ? path.substring(1) : path.substring(1, slash);
            Provider provider = catalog.find(first);
            if (provider == null) {
                String what = first.equals("proxy") ? "connection" : "provider";
                Responses.error(ctx, request, ProxyError.notFound("unknown_" + what, "unknown " + what + " '" + printable(first) + "'"));
                return;
            }
            request.provider = provider;
            request.upstreamPath = slash < 0 ? "/" : path.substring(slash);
        }
        ctx.fireChannelRead(msg);
    }

    private static String printable(String s) {
        return s.length() > 64 ? s.substring(0, 64) + "…" : s;
    }
}
