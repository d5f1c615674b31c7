package dev.keyswap.store;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.sqlite.SQLiteConfig;
import org.sqlite.SQLiteDataSource;

/**
 * The storage lifecycle: a HikariCP pool on the configured JDBC URL (SQLite by default, WAL,
 * busy timeout, parent directory created), {@link Migrations} applied at open, and the dedicated
 * executor every JDBC call runs on. Nothing on an event loop may call JDBC directly.
 */
public final class Database implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Database.class);

    private static final String SQLITE_PREFIX = "jdbc:sqlite:";
    private static final String POSTGRES_PREFIX = "jdbc:postgresql:";
    /**
     * In WAL mode readers never block each other or the writer, so a few connections let token
     * lookups proceed while the usage writer holds the write lock; more would only queue on it.
     */
    static final int SQLITE_POOL_SIZE = 4;
    static final int POSTGRES_POOL_SIZE = 10;
    /** How long a writer waits for SQLite's write lock before failing with SQLITE_BUSY. */
    static final int SQLITE_BUSY_TIMEOUT_MS = 5000;
    private static final long CLOSE_WAIT_SECONDS = 10;

    private final HikariDataSource pool;
    private final ExecutorService executor;
    private final AtomicBoolean closed = new AtomicBoolean();

    private Database(HikariDataSource pool, int threads) {
        this.pool = pool;
        this.executor = Executors.newFixedThreadPool(threads, daemonThreads());
    }

    /** Opens the pool and migrates. Fails with a clear message naming the URL's scheme on a bad URL. */
    public static Database open(String jdbcUrl) {
        HikariConfig config = poolConfig(jdbcUrl);
        HikariDataSource pool = new HikariDataSource(config);
        try {
            Migrations.apply(pool);
        } catch (RuntimeException e) {
            pool.close();
            throw new StoreException("database migration failed", e);
        }
        return new Database(pool, config.getMaximumPoolSize());
    }

    public DataSource dataSource() {
        return pool;
    }

    /** The executor JDBC work runs on (threads named keyswap-jdbc-N, daemon). */
    public ExecutorService executor() {
        return executor;
    }

    /** Runs blocking work on the JDBC executor. */
    public <T> CompletableFuture<T> submit(SqlWork<T> work) {
        CompletableFuture<T> result = new CompletableFuture<>();
        try {
            executor.execute(() -> {
                try {
                    result.complete(work.run(pool));
                } catch (SQLException e) {
                    result.completeExceptionally(new StoreException("database call failed", e));
                } catch (Throwable t) {
                    result.completeExceptionally(t);
                }
            });
        } catch (RejectedExecutionException e) {
            result.completeExceptionally(new StoreException("database is closed", e));
        }
        return result;
    }

    @FunctionalInterface
    public interface SqlWork<T> {
        T run(DataSource ds) throws Exception;
    }

    /** Stops the executor (waiting for queued work, bounded) and closes the pool. */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        executor.shutdown();
        try {
            if (!executor.awaitTermination(CLOSE_WAIT_SECONDS, TimeUnit.SECONDS)) {
                log.warn("JDBC work still running after {} s; closing the pool anyway", CLOSE_WAIT_SECONDS);
                executor.shutdownNow();
            }
        } catch (InterruptedException e) {
            executor.shutdownNow();
            Thread.currentThread().interrupt();
        } finally {
            pool.close();
        }
    }

    private static HikariConfig poolConfig(String jdbcUrl) {
        if (jdbcUrl == null || jdbcUrl.isBlank()) {
            throw new IllegalArgumentException("no JDBC URL configured (storage.url); expected jdbc:sqlite:FILE or jdbc:postgresql://...");
        }
        HikariConfig config = new HikariConfig();
        config.setPoolName("keyswap-db");
        if (jdbcUrl.startsWith(SQLITE_PREFIX)) {
            config.setDataSource(sqliteDataSource(jdbcUrl));
            config.setMaximumPoolSize(SQLITE_POOL_SIZE);
        } else if (jdbcUrl.startsWith(POSTGRES_PREFIX)) {
            requireDriver(jdbcUrl);
            config.setJdbcUrl(jdbcUrl);
            config.setMaximumPoolSize(POSTGRES_POOL_SIZE);
        } else {
            // Name only the scheme: the rest of a URL may carry a password.
            throw new IllegalArgumentException("unsupported JDBC URL scheme '" + scheme(jdbcUrl)
                    + "'; expected jdbc:sqlite:FILE or jdbc:postgresql://...");
        }
        config.setMinimumIdle(config.getMaximumPoolSize());
        return config;
    }

    private static DataSource sqliteDataSource(String jdbcUrl) {
        Path file = sqliteFile(jdbcUrl);
        Path parent = file.toAbsolutePath().getParent();
        try {
            if (parent != null) {
                Files.createDirectories(parent);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create the database directory " + parent, e);
        }
        // Pragmas go through SQLiteConfig so every pooled connection gets them when it opens,
        // not just the first. journal_mode=WAL also persists in the file itself.
        SQLiteConfig sqlite = new SQLiteConfig();
        sqlite.setJournalMode(SQLiteConfig.JournalMode.WAL);
        sqlite.setBusyTimeout(SQLITE_BUSY_TIMEOUT_MS);
        sqlite.enforceForeignKeys(true);
        sqlite.setSynchronous(SQLiteConfig.SynchronousMode.NORMAL); // durable across crashes in WAL mode; fsync only at checkpoints
        // Explicit transactions here always write; BEGIN IMMEDIATE takes the write lock up front,
        // where busy_timeout applies, instead of failing on a read-to-write upgrade.
        sqlite.setTransactionMode(SQLiteConfig.TransactionMode.IMMEDIATE);
        // Nothing here asks for generated keys. With this on (the driver's default), every INSERT
        // statement executed also ran a regex over its SQL and a "SELECT last_insert_rowid()"
        // query: per 64-row usage statement, and why the JIT was still compiling the driver's
        // query path 40-57 s into a benchmark run.
        sqlite.setGetGeneratedKeys(false);
        SQLiteDataSource ds = new SQLiteDataSource(sqlite);
        ds.setUrl(jdbcUrl);
        return ds;
    }

    /** The database file of a jdbc:sqlite: URL ("file:" prefix and "?options" allowed). */
    static Path sqliteFile(String jdbcUrl) {
        String rest = jdbcUrl.substring(SQLITE_PREFIX.length());
        int query = rest.indexOf('?');
        if (query >= 0) {
            rest = rest.substring(0, query);
        }
        if (rest.startsWith("file:")) {
            rest = rest.substring("file:".length());
        }
        if (rest.isEmpty() || rest.equals(":memory:") || rest.startsWith(":resource:")) {
            // Each pooled connection would see its own empty database.
            throw new IllegalArgumentException("jdbc:sqlite: needs a database file path; in-memory and resource databases are not supported");
        }
        return Path.of(rest);
    }

    private static void requireDriver(String jdbcUrl) {
        try {
            DriverManager.getDriver(jdbcUrl);
        } catch (SQLException e) {
            throw new IllegalStateException("no PostgreSQL JDBC driver on the classpath; add org.postgresql:postgresql to use a jdbc:postgresql: URL");
        }
    }

    private static String scheme(String url) {
        String rest = url.startsWith("jdbc:") ? url.substring("jdbc:".length()) : url;
        int colon = rest.indexOf(':');
        String scheme = colon > 0 ? rest.substring(0, colon) : "";
        if (scheme.isEmpty() || !scheme.chars().allMatch(c -> Character.isLetterOrDigit(c) || c == '+' || c == '-' || c == '.')) {
            return "(none)";
        }
        return url.startsWith("jdbc:") ? "jdbc:" + scheme : scheme;
    }

    private static ThreadFactory daemonThreads() {
        AtomicInteger next = new AtomicInteger(1);
        return r -> {
            Thread t = new Thread(r, "keyswap-jdbc-" + next.getAndIncrement());
            t.setDaemon(true);
            return t;
        };
    }
}
