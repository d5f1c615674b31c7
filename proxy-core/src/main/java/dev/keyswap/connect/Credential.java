package dev.keyswap.connect;

import dev.keyswap.route.UpstreamTarget;
import java.util.List;
import java.util.Map;

/**
 * The real credential for one request and where it goes: resolved per request, held only until
 * the upstream request head is written.
 *
 * @param param         header name for API_KEY, query parameter for QUERY
 * @param pool          the secrets to choose from (one, or a connection's key pool), opened for this request only
 * @param poolIndex     which secret of the pool is in use
 * @param connectionId  the connection it came from, or null (server key, split key)
 * @param tenantAddress the target came from a tenant (a connection's base_url): the SSRF guard applies
 */
public record Credential(UpstreamTarget target, AuthType type, String param, List<String> pool, int poolIndex,
                         Map<String, String> extraHeaders, String connectionId, boolean tenantAddress) {

    /** The secret in use. */
    public String secret() {
        return pool.get(poolIndex);
    }

    /** The same credential with another secret of the pool. */
    public Credential withPoolIndex(int index) {
        return new Credential(target, type, param, pool, index, extraHeaders, connectionId, tenantAddress);
    }

    /**
     * Whether {@code ch} may stand in a secret or header value sent as it is: printable ASCII. A
     * header carries bytes, not characters; anything else could not be written (every request
     * would fail) or would arrive re-encoded. The stores and the config refuse secrets by it.
     */
    public static boolean sendableAsIs(int ch) {
        return ch >= ' ' && ch < 0x7f;
    }

    @Override
    public String toString() {
        return "Credential[" + type + (param == null ? "" : " " + param) + ", connection=" + connectionId + ", secret=****]";
    }
}
