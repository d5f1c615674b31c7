package dev.keyswap.connect;

import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * A tenant's stored credential for an upstream: reachable as {@code /proxy/{id}/…}, and used for
 * {@code /{provider}/…} when it names a provider. Its secrets (one, or several for a key pool)
 * are stored sealed and never part of this record.
 *
 * @param provider     a catalog provider name, or null
 * @param baseUrl      the upstream base URL; null means the provider's
 * @param authParam    header name for API_KEY, parameter name for QUERY, else null
 * @param extraHeaders sent upstream on every request (not secret; shown in full)
 * @param allowedPaths path prefixes this connection may be used for; empty means any
 */
public record Connection(String id, String actorId, String name, String provider, String baseUrl, AuthType authType,
                         String authParam, Map<String, String> extraHeaders, List<String> allowedPaths, Instant createdAt) {
    public Connection {
        extraHeaders = Map.copyOf(extraHeaders);
        allowedPaths = List.copyOf(allowedPaths);
    }
}
