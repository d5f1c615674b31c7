package dev.keyswap.usage;

import java.time.Instant;

/**
 * One proxied request, as metered. Never a body, a query string or a secret.
 *
 * @param provider           catalog provider name, or null for a connection route
 * @param connectionId       connection id, or null for a provider route
 * @param path               the path sent upstream, without query
 * @param durationMicros     request received to last response byte written
 * @param upstreamMicros     request received to upstream response headers (X-Proxy-Duration-Ms)
 * @param model              as reported by the response, else null
 * @param inputTokens        as reported, else null
 * @param outputTokens       as reported, else null
 * @param costUsd            from the price table, else null
 */
public record UsageRecord(
        Instant time,
        String requestId,
        String actorId,
        String tokenId,
        String provider,
        String connectionId,
        String method,
        String path,
        int status,
        long durationMicros,
        long upstreamMicros,
        long bytesIn,
        long bytesOut,
        String model,
        Long inputTokens,
        Long outputTokens,
        Double costUsd) {
}
