package dev.keyswap.store;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import javax.sql.DataSource;

/**
 * The storage lifecycle: a HikariCP pool on the configured JDBC URL (SQLite by default, WAL,
 * busy timeout, parent directory created), Flyway migrations applied at open, and the dedicated
 * executor every JDBC call runs on. Nothing on an event loop may call JDBC directly.
 */
public final class Database implements AutoCloseable {

    /** Opens the pool and migrates. Fails with a clear message naming the URL's scheme on a bad URL. */
    public static Database open(String jdbcUrl) {
        throw new UnsupportedOperationException("TODO helper A");
    }

    public DataSource dataSource() {
        throw new UnsupportedOperationException("TODO helper A");
    }

    /** The executor JDBC work runs on (threads named keyswap-jdbc-N, daemon). */
    public ExecutorService executor() {
        throw new UnsupportedOperationException("TODO helper A");
    }

    /** Runs blocking work on the JDBC executor. */
    public <T> CompletableFuture<T> submit(SqlWork<T> work) {
        throw new UnsupportedOperationException("TODO helper A");
    }

    @FunctionalInterface
    public interface SqlWork<T> {
        T run(DataSource ds) throws Exception;
    }

    /** Stops the executor (waiting for queued work, bounded) and closes the pool. */
    @Override
    public void close() {
        throw new UnsupportedOperationException("TODO helper A");
    }
}
