package dev.keyswap.server;

import dev.keyswap.auth.ApiKey;
import dev.keyswap.auth.Authenticator;
import dev.keyswap.auth.TokenCache;
import dev.keyswap.auth.TokenHasher;
import dev.keyswap.server.config.Settings;
import dev.keyswap.store.ApiKeyStore;
import dev.keyswap.store.ConnectionStore;
import dev.keyswap.store.Database;
import dev.keyswap.store.SplitKeyStore;
import dev.keyswap.store.StoreException;
import dev.keyswap.store.StoredConnectionDirectory;
import dev.keyswap.store.UsageStore;
import dev.keyswap.store.VaultKeys;
import dev.keyswap.usage.PriceTable;
import dev.keyswap.usage.TokenUsage;
import dev.keyswap.usage.UsageLog;
import dev.keyswap.usage.UsageRecord;
import dev.keyswap.vault.MasterKey;
import dev.keyswap.vault.Vault;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One running Keyswap: storage, vault, token cache, usage log and the proxy server, built from
 * {@link Settings} and torn down in reverse order. Used by {@code keyswap serve} and by tests.
 */
public final class Keyswap implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Keyswap.class);
    private final Settings settings;
    private final Database database;
    private final ApiKeyStore keys;
    private final UsageStore usage;
    private final UsageLog usageLog;
    private final TokenHasher hasher;
    private final ConnectionStore connections;
    private final SplitKeyStore splitKeys;
    private final Vault vault;
    private final ProxyServer proxy;
    private boolean closed;

    private Keyswap(Settings settings, List<MasterKey> masterKeys) {
        this.settings = settings;
        this.vault = new Vault(masterKeys);
        this.database = Database.open(settings.storageUrl());
        UsageLog startedLog = null;
        try {
            this.keys = new ApiKeyStore(database);
            this.usage = new UsageStore(database);
            // Refuses a master key this database does not belong to before anything else runs.
            this.hasher = new TokenHasher(VaultKeys.open(database, vault, masterKeys.get(0)).tokenPepper());
            this.connections = new ConnectionStore(database, vault);
            this.splitKeys = new SplitKeyStore(database, vault);
            PriceTable prices = prices(settings.pricesFile());
            startedLog = new UsageLog(batch -> writeUsage(batch, prices), settings.usageQueueCapacity(),
                    settings.usageBatchSize(), settings.usageFlushInterval());
            this.usageLog = startedLog;
            TokenCache cache = new TokenCache(keys::findByTokenHash, database.executor(), settings.tokenCacheTtl(),
                    settings.negativeCacheTtl(), 1_000_000);
            this.proxy = new ProxyServer(settings.server(), settings.catalog(),
                    new Authenticator(hasher, cache, settings.adminToken()), new StoredConnectionDirectory(connections, splitKeys, database.executor(), settings.tokenCacheTtl()),
                    settings.upstream(), usageLog,
                    this::metricsText);
        } catch (RuntimeException e) {
            // Its writer thread is running already; an unusable transport is found only after it.
            if (startedLog != null) {
                startedLog.close();
            }
            database.close();
            throw e;
        }
    }

    /** Opens storage and the vault and starts listening. */
    public static Keyswap start(Settings settings, Map<String, String> env) throws InterruptedException {
        // SLF4J binds its provider on first use; two threads getting there at once (this one and
        // the native-init thread below, through Netty) makes it queue and "replay" their calls
        // with a warning on stderr at every start. Binding it here first keeps start-up quiet.
        org.slf4j.LoggerFactory.getILoggerFactory();
        // Loading the native transport and Netty's HTTP classes (and BoringSSL, when a TLS context
        // is built before the listener binds) takes most of a second: do it beside the database
        // migrations, not after them. Otherwise BoringSSL is loaded once the server listens (see
        // UpstreamConnector.tlsReady): on one CPU this thread would only delay the start.
        boolean tlsBeforeListening = settings.server().tlsCertFile() != null || settings.upstream().hasTrustFile();
        Thread nativeInit = new Thread(() -> {
            if (tlsBeforeListening) {
                io.netty.handler.ssl.OpenSsl.isAvailable();
            }
            new io.netty.handler.codec.http.HttpRequestDecoder();
            new io.netty.handler.codec.http.HttpResponseEncoder();
            new io.netty.handler.codec.http.HttpRequestEncoder();
            try {
                Transport.named(settings.server().transport());
            } catch (RuntimeException e) {
                // Reported by the ProxyServer that needs it, with the reason.
            }
        }, "keyswap-native-init");
        nativeInit.setDaemon(true);
        nativeInit.start();
        Keyswap k = new Keyswap(settings, masterKeys(settings, env));
        try {
            k.proxy.start();
        } catch (Throwable e) {
            // Netty rethrows a failed bind as an undeclared checked exception: close on anything.
            k.close();
            throw e;
        }
        return k;
    }

    /**
     * The vault's ring: the current master key (KEYSWAP_MASTER_KEY, vault.master_key or the key
     * file) first, then vault.previous_master_keys, which only open secrets until a rotation ends.
     */
    static List<MasterKey> masterKeys(Settings settings, Map<String, String> env) {
        List<MasterKey> ring = new ArrayList<>();
        ring.add(MasterKey.load(env.get("KEYSWAP_MASTER_KEY"), settings.masterKey(), settings.masterKeyFile()));
        List<String> previous = settings.previousMasterKeys();
        for (int i = 0; i < previous.size(); i++) {
            ring.add(MasterKey.parse("vault.previous_master_keys[" + i + "]", previous.get(i)));
        }
        return ring;
    }

    private static PriceTable prices(java.nio.file.Path file) {
        if (file == null) {
            return PriceTable.defaults();
        }
        try (java.io.InputStream in = java.nio.file.Files.newInputStream(file)) {
            return PriceTable.load(in);
        } catch (java.io.IOException | RuntimeException e) {
            throw new IllegalArgumentException("usage.prices_file " + file + ": " + e.getMessage());
        }
    }

    /** Prices and stores one batch, and moves the keys' last-used times forward. Writer thread. */
    private void writeUsage(List<UsageRecord> batch, PriceTable prices) {
        List<UsageRecord> priced = new ArrayList<>(batch.size());
        Map<String, Instant> lastUsed = new HashMap<>();
        for (UsageRecord r : batch) {
            Double cost = prices.cost(new TokenUsage(r.model(), r.inputTokens(), r.outputTokens()));
            priced.add(cost == null ? r : new UsageRecord(r.time(), r.requestId(), r.actorId(), r.tokenId(), r.provider(),
                    r.connectionId(), r.method(), r.path(), r.status(), r.durationMicros(), r.upstreamMicros(), r.bytesIn(),
                    r.bytesOut(), r.model(), r.inputTokens(), r.outputTokens(), cost));
            if (r.tokenId() != null && r.tokenId().startsWith("key_") && !r.tokenId().equals("key_bootstrap_admin")) {
                lastUsed.merge(r.tokenId(), r.time(), (a, b) -> a.isAfter(b) ? a : b);
            }
        }
        usage.insertBatch(priced);
        if (!lastUsed.isEmpty()) {
            // The records are stored by now: a failure here must not count them as lost.
            try {
                keys.touchLastUsed(lastUsed);
            } catch (StoreException e) {
                log.warn("usage stored, but tokens' last-used times were not updated: {}", e.getMessage());
            }
        }
    }

    private String metricsText() {
        StringBuilder sb = new StringBuilder();
        ProxyServer.counter(sb, "keyswap_usage_records_written_total", "Usage records stored.", usageLog.writtenCount());
        ProxyServer.counter(sb, "keyswap_usage_records_failed_total", "Usage records whose batch failed to store.", usageLog.failedCount());
        ProxyServer.counter(sb, "keyswap_usage_records_queue_dropped_total", "Usage records refused by a full queue.", usageLog.droppedCount());
        return sb.toString();
    }

    public int port() {
        return proxy.port();
    }

    public ProxyServer proxy() {
        return proxy;
    }

    public ApiKeyStore keys() {
        return keys;
    }

    public UsageStore usage() {
        return usage;
    }

    public ConnectionStore connections() {
        return connections;
    }

    public SplitKeyStore splitKeys() {
        return splitKeys;
    }

    public UsageLog usageLog() {
        return usageLog;
    }

    public TokenHasher hasher() {
        return hasher;
    }

    public Database database() {
        return database;
    }

    /** Seals and opens stored secrets (connections, split keys) with the configured master keys. */
    public Vault vault() {
        return vault;
    }

    /** SIGTERM: stop accepting, finish in-flight requests (bounded), flush usage, close storage. */
    public synchronized void drainAndClose() {
        if (closed) {
            return;
        }
        proxy.drain(settings.drainTimeout());
        closeRest();
    }

    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        proxy.close();
        closeRest();
    }

    private void closeRest() {
        closed = true;
        usageLog.close();
        database.close();
    }

    /** Creates a key record for a new token; returns the token value (shown once). */
    public static String createKey(ApiKeyStore keys, TokenHasher hasher, ApiKey template) {
        String token = dev.keyswap.auth.TokenFormat.newToken();
        keys.insert(template, hasher.hash(token));
        return token;
    }
}
