package dev.keyswap.pipeline;

import dev.keyswap.route.Provider;
import dev.keyswap.route.ProviderCatalog;

/**
 * {@code /{provider}/{path…}} → the catalog provider, or {@code /proxy/{connection_id}/{path…}} →
 * the connection id; and the path remainder sent upstream.
 */
public final class RouteStep implements HeadStep {
    private final ProviderCatalog catalog;

    public RouteStep(ProviderCatalog catalog) {
        this.catalog = catalog;
    }

    @Override
    public void onHead(HeadSteps steps, InboundRequest request) {
        String path = request.path;
        int slash = path.indexOf('/', 1);
        String first = slash < 0 ? path.substring(1) : path.substring(1, slash);
        if (first.equals("proxy")) {
            // /proxy/{connection_id}/{path…}: the connection is looked up after the token.
            int next = slash < 0 ? -1 : path.indexOf('/', slash + 1);
            String id = slash < 0 ? "" : next < 0 ? path.substring(slash + 1) : path.substring(slash + 1, next);
            if (id.isEmpty()) {
                Responses.error(steps.ctx(), request, ProxyError.notFound("unknown_connection", "no connection id after /proxy/"));
                return;
            }
            request.connectionId = id;
            request.upstreamPath = next < 0 ? "/" : path.substring(next);
            steps.proceed(request);
            return;
        }
        Provider provider = catalog.find(first);
        if (provider == null) {
            Responses.error(steps.ctx(), request,
                    ProxyError.notFound("unknown_provider", "unknown provider '" + ProxyError.clip(first) + "'"));
            return;
        }
        request.provider = provider;
        request.upstreamPath = slash < 0 ? "/" : path.substring(slash);
        steps.proceed(request);
    }
}
