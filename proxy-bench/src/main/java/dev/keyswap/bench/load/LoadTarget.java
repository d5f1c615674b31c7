package dev.keyswap.bench.load;

import java.net.URI;

/**
 * Where a load client sends its requests: host, port, the path prefix before the upstream's own
 * path ({@code ""} for the upstream itself and for nginx, {@code "/openai"} for Keyswap) and the
 * Authorization header to send (null for none).
 */
public record LoadTarget(String name, String host, int port, String prefix, String authorization) {

    /** {@code http://127.0.0.1:8080/openai} plus an optional bearer token. */
    public static LoadTarget parse(String name, String url, String bearer) {
        URI u = URI.create(url);
        String prefix = u.getPath() == null || u.getPath().equals("/") ? "" : u.getPath();
        return new LoadTarget(name, u.getHost(), u.getPort(), prefix,
                bearer == null || bearer.isEmpty() ? null : "Bearer " + bearer);
    }

    public String path(String upstreamPath) {
        return prefix + upstreamPath;
    }

    public String url() {
        return "http://" + host + ":" + port + prefix;
    }
}
