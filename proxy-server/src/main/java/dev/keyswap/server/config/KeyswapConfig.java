package dev.keyswap.server.config;

import java.util.List;
import java.util.Map;

/**
 * The config file's shape (config/keyswap.yaml documents every key and default). Absent keys
 * take their defaults in {@link ConfigLoader}; unknown keys are an error naming the key.
 */
public record KeyswapConfig(Server server, Storage storage, Vault vault, Auth auth, Cors cors, Upstream upstream,
                            Usage usage, Websocket websocket, Map<String, ProviderEntry> providers) {

    public record Server(String host, Integer port, String transport, Integer ioThreads, Long maxBodyBytes, Integer maxHeaderBytes,
                         Integer maxInitialLineBytes, String clientIdleTimeout, String drainTimeout, Tls tls) {
    }

    /** Both files or neither: with them, the listener speaks TLS only. */
    public record Tls(String certFile, String keyFile) {
    }

    public record Websocket(Integer maxPerToken) {
    }

    public record Storage(String url) {
    }

    /** @param previousMasterKeys keys being rotated away from: they still open, never seal */
    public record Vault(String masterKey, String masterKeyFile, List<String> previousMasterKeys) {
        @Override
        public String toString() {
            return "Vault[masterKey=****, masterKeyFile=" + masterKeyFile + ", previousMasterKeys="
                    + (previousMasterKeys == null ? 0 : previousMasterKeys.size()) + "]";
        }
    }

    public record Auth(String adminToken, String tokenCacheTtl, String negativeCacheTtl) {
    }

    public record Cors(List<String> allowedOrigins) {
    }

    public record Upstream(String connectTimeout, String responseHeaderTimeout, String idleTimeout,
                           String poolIdleTimeout, Integer maxIdlePerUpstream, Integer maxResponseHeaderBytes,
                           String trustCertFile, List<String> allowPrivateAddresses) {
    }

    public record Usage(Integer queueCapacity, Integer batchSize, String flushInterval, String pricesFile) {
    }

    /** @param slot bearer, x-api-key, x-goog-api-key or api-key; defaults to the built-in's */
    public record ProviderEntry(String baseUrl, String apiKey, String slot) {
        @Override
        public String toString() {
            return "ProviderEntry[baseUrl=" + baseUrl + ", apiKey=" + (apiKey == null || apiKey.isEmpty() ? "none" : "****") + ", slot=" + slot + "]";
        }
    }
}
