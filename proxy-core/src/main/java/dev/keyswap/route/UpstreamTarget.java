package dev.keyswap.route;

import java.net.URI;
import java.util.Locale;

/**
 * Where requests for a provider go: scheme, host, port and a path prefix. Also the key the
 * upstream connection pools are kept by (the path prefix is not part of a connection's identity).
 */
public record UpstreamTarget(boolean tls, String host, int port, String basePath) {

    public UpstreamTarget {
        host = host.toLowerCase(Locale.ROOT);
        basePath = basePath == null || basePath.equals("/") ? "" : stripTrailingSlash(basePath);
    }

    /**
     * Parses an http(s) base URL; rejects anything else with a message that says what is wrong
     * and never quotes the URL: a refused one is often a key put where the URL's slots cannot
     * carry it ({@code ?api_key=}, {@code user:password@}), and the message goes to stderr and logs.
     */
    public static UpstreamTarget parse(String baseUrl) {
        URI uri;
        try {
            uri = new URI(baseUrl.trim());
        } catch (Exception e) {
            throw new IllegalArgumentException("base_url is not a valid URL");
        }
        String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
        if (!scheme.equals("http") && !scheme.equals("https")) {
            throw new IllegalArgumentException("base_url must start with http:// or https://");
        }
        String extra = uri.getRawUserInfo() != null ? "user information"
                : uri.getRawQuery() != null ? "a query"
                : uri.getRawFragment() != null ? "a fragment" : null;
        if (uri.getHost() == null || extra != null) {
            throw new IllegalArgumentException("base_url must be scheme://host[:port][/path] only"
                    + (extra == null ? " (it has no host)" : " (it has " + extra
                    + "; a credential goes in a connection's or provider's slot, not in the URL)"));
        }
        if (uri.getPort() == 0 || uri.getPort() > 65535) {
            // java.net.URI takes any number; such a port failed only at connect time, per request.
            throw new IllegalArgumentException("base_url's port must be from 1 to 65535");
        }
        boolean tls = scheme.equals("https");
        int port = uri.getPort() > 0 ? uri.getPort() : (tls ? 443 : 80);
        String host = uri.getHost();
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        }
        return new UpstreamTarget(tls, host, port, uri.getRawPath());
    }

    /** The Host header value: host, plus the port when it is not the scheme's default. */
    public String authority() {
        String h = host.indexOf(':') >= 0 ? "[" + host + "]" : host;
        boolean defaultPort = (tls && port == 443) || (!tls && port == 80);
        return defaultPort ? h : h + ":" + port;
    }

    public String scheme() {
        return tls ? "https" : "http";
    }

    /** Only what identifies a connection: pooled connections are shared across path prefixes. */
    public UpstreamTarget connectionKey() {
        return basePath.isEmpty() ? this : new UpstreamTarget(tls, host, port, "");
    }

    private static String stripTrailingSlash(String p) {
        return p.endsWith("/") ? p.substring(0, p.length() - 1) : p;
    }
}
