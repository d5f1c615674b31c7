package dev.keyswap.server.config;

import dev.keyswap.route.ProviderCatalog;
import dev.keyswap.server.ProxyServer;
import dev.keyswap.upstream.UpstreamConnector;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/** The validated, defaulted configuration every part of Keyswap is built from. */
public record Settings(
        ProxyServer.Settings server,
        UpstreamConnector.Settings upstream,
        ProviderCatalog catalog,
        String storageUrl,
        String masterKey,
        Path masterKeyFile,
        /** Encoded master keys that still open secrets during a rotation, already checked to decode; never null. */
        List<String> previousMasterKeys,
        String adminToken,
        Duration tokenCacheTtl,
        Duration negativeCacheTtl,
        Duration drainTimeout,
        int usageQueueCapacity,
        int usageBatchSize,
        Duration usageFlushInterval,
        /** JSON model price table replacing the bundled example prices, or null. */
        Path pricesFile) {

    @Override
    public String toString() {
        return "Settings[server=" + server + ", storageUrl=" + storageUrl + ", masterKeyFile=" + masterKeyFile + "]";
    }
}
