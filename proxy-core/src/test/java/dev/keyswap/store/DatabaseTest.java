package dev.keyswap.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import javax.sql.DataSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DatabaseTest {
    @TempDir
    Path dir;

    static String queryString(DataSource ds, String sql) throws SQLException {
        try (Connection c = ds.getConnection(); Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            assertTrue(rs.next(), "no row for " + sql);
            return rs.getString(1);
        }
    }

    @Test
    void opensAFreshFileInANewDirectoryInWalMode() throws Exception {
        Path file = dir.resolve("nested/data/keyswap.db");
        try (Database db = Database.open("jdbc:sqlite:" + file)) {
            assertTrue(Files.exists(file));
            assertEquals("wal", queryString(db.dataSource(), "PRAGMA journal_mode"));
        }
    }

    @Test
    void everyPooledConnectionHasBusyTimeoutForeignKeysAndNormalSync() throws Exception {
        try (Database db = Database.open("jdbc:sqlite:" + dir.resolve("k.db"))) {
            // Hold several connections at once so the pool must hand out distinct ones.
            Connection[] held = new Connection[Database.SQLITE_POOL_SIZE];
            try {
                for (int i = 0; i < held.length; i++) {
                    held[i] = db.dataSource().getConnection();
                    try (Statement st = held[i].createStatement()) {
                        assertEquals("5000", scalar(st, "PRAGMA busy_timeout"));
                        assertEquals("1", scalar(st, "PRAGMA foreign_keys"));
                        assertEquals("1", scalar(st, "PRAGMA synchronous")); // 1 = NORMAL
                        assertEquals("wal", scalar(st, "PRAGMA journal_mode"));
                    }
                }
            } finally {
                for (Connection c : held) {
                    if (c != null) {
                        c.close();
                    }
                }
            }
        }
    }

    private static String scalar(Statement st, String sql) throws SQLException {
        try (ResultSet rs = st.executeQuery(sql)) {
            rs.next();
            return rs.getString(1);
        }
    }

    /**
     * The driver's generated keys are off: with them on, every INSERT also ran a regex over its
     * SQL and a {@code SELECT last_insert_rowid()} (per 64-row usage statement), which nothing
     * here reads. An INSERT then reports no generated key.
     */
    @Test
    void insertsDoNotQueryGeneratedKeys() throws Exception {
        try (Database db = Database.open("jdbc:sqlite:" + dir.resolve("k.db"));
                Connection c = db.dataSource().getConnection();
                java.sql.PreparedStatement ps = c.prepareStatement(
                        "INSERT INTO actors (id, name, created_at) VALUES ('act_keys', 'keys', 1)")) {
            assertEquals(1, ps.executeUpdate());
            try (ResultSet keys = ps.getGeneratedKeys()) {
                assertFalse(keys.next(), "the driver queried the generated key of an INSERT");
            }
            assertEquals("keys", queryString(db.dataSource(), "SELECT name FROM actors WHERE id = 'act_keys'"));
        }
    }

    @Test
    void migrationCreatesTablesAndTheBootstrapAdmin() throws Exception {
        try (Database db = Database.open("jdbc:sqlite:" + dir.resolve("k.db"))) {
            assertEquals("admin", queryString(db.dataSource(), "SELECT name FROM actors WHERE id = 'act_admin'"));
            assertEquals("0", queryString(db.dataSource(), "SELECT COUNT(*) FROM api_keys"));
            assertEquals("0", queryString(db.dataSource(), "SELECT COUNT(*) FROM usage_records"));
        }
    }

    @Test
    void reopeningKeepsDataAndDoesNotReapplyMigrations() throws Exception {
        String url = "jdbc:sqlite:" + dir.resolve("k.db");
        try (Database db = Database.open(url)) {
            try (Connection c = db.dataSource().getConnection(); Statement st = c.createStatement()) {
                st.executeUpdate("INSERT INTO actors (id, name, created_at) VALUES ('act_x', 'x', 1)");
            }
        }
        try (Database db = Database.open(url)) {
            assertEquals("2", queryString(db.dataSource(), "SELECT COUNT(*) FROM actors"));
            assertEquals("1", queryString(db.dataSource(), "SELECT COUNT(*) FROM actors WHERE id = 'act_admin'"));
            assertEquals("1", queryString(db.dataSource(),
                    "SELECT COUNT(*) FROM flyway_schema_history WHERE version = '1' AND success = 1"));
        }
    }

    @Test
    void unsupportedSchemeIsNamedWithoutTheRestOfTheUrl() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Database.open("jdbc:mysql://admin:hunter2@db.example/keyswap"));
        assertTrue(e.getMessage().contains("jdbc:mysql"), e.getMessage());
        assertFalse(e.getMessage().contains("hunter2"), e.getMessage());
    }

    @Test
    void nonJdbcUrlIsRejectedWithItsScheme() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Database.open("postgres://u:pw@host/db"));
        assertTrue(e.getMessage().contains("'postgres'"), e.getMessage());
        assertFalse(e.getMessage().contains("pw@"), e.getMessage());
    }

    @Test
    void missingOrBlankUrlIsRejected() {
        assertThrows(IllegalArgumentException.class, () -> Database.open(null));
        assertThrows(IllegalArgumentException.class, () -> Database.open("  "));
    }

    @Test
    void inMemorySqliteIsRejectedBecauseEachConnectionWouldSeeItsOwnDatabase() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Database.open("jdbc:sqlite::memory:"));
        assertTrue(e.getMessage().contains("in-memory"), e.getMessage());
    }

    @Test
    void postgresqlWithoutADriverFailsNamingTheMissingDriver() {
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> Database.open("jdbc:postgresql://localhost/keyswap?password=hunter2"));
        assertTrue(e.getMessage().contains("PostgreSQL JDBC driver"), e.getMessage());
        assertFalse(e.getMessage().contains("hunter2"));
    }

    @Test
    void sqliteUrlOptionsAndFilePrefixAreNotPartOfThePath() {
        assertEquals(Path.of("/var/lib/keyswap/k.db"), Database.sqliteFile("jdbc:sqlite:file:/var/lib/keyswap/k.db?cache=shared"));
        assertEquals(Path.of("data/k.db"), Database.sqliteFile("jdbc:sqlite:data/k.db"));
    }

    @Test
    void submitRunsOnANamedDaemonJdbcThread() throws Exception {
        try (Database db = Database.open("jdbc:sqlite:" + dir.resolve("k.db"))) {
            Thread worker = db.submit(ds -> Thread.currentThread()).get(5, TimeUnit.SECONDS);
            assertTrue(worker.getName().startsWith("keyswap-jdbc-"), worker.getName());
            assertTrue(worker.isDaemon());
            assertEquals("admin", db.submit(ds -> queryString(ds, "SELECT name FROM actors")).get(5, TimeUnit.SECONDS));
        }
    }

    @Test
    void submittedSqlFailureCompletesExceptionallyWithStoreException() throws Exception {
        try (Database db = Database.open("jdbc:sqlite:" + dir.resolve("k.db"))) {
            CompletableFuture<String> f = db.submit(ds -> queryString(ds, "SELECT * FROM no_such_table"));
            ExecutionException e = assertThrows(ExecutionException.class, () -> f.get(5, TimeUnit.SECONDS));
            assertInstanceOf(StoreException.class, e.getCause());
            assertInstanceOf(SQLException.class, e.getCause().getCause());
        }
    }

    @Test
    void closeWaitsForQueuedWorkIsIdempotentAndRefusesLaterWork() throws Exception {
        Database db = Database.open("jdbc:sqlite:" + dir.resolve("k.db"));
        CompletableFuture<String> queued = db.submit(ds -> {
            Thread.sleep(200);
            return queryString(ds, "SELECT name FROM actors");
        });
        db.close();
        db.close();
        assertEquals("admin", queued.getNow("not finished"));
        CompletableFuture<String> late = db.submit(ds -> "too late");
        ExecutionException e = assertThrows(ExecutionException.class, () -> late.get(1, TimeUnit.SECONDS));
        assertInstanceOf(StoreException.class, e.getCause());
    }
}
