package dev.keyswap.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.HashMap;
import java.util.Map;
import javax.sql.DataSource;
import org.flywaydb.core.Flyway;
import org.flywaydb.core.api.exception.FlywayValidateException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sqlite.SQLiteDataSource;

/**
 * Flyway is skipped only for a database whose history records exactly the shipped migrations;
 * every other state still reaches Flyway, which migrates or refuses as before.
 */
class MigrationsTest {
    @TempDir
    Path dir;

    private DataSource sqlite() {
        SQLiteDataSource ds = new SQLiteDataSource();
        ds.setUrl("jdbc:sqlite:" + dir.resolve("k.db"));
        return ds;
    }

    private static void flywayMigrate(DataSource ds, String target) {
        Flyway.configure().dataSource(ds).locations("classpath:" + Migrations.LOCATION).target(target).load().migrate();
    }

    private static void execute(DataSource ds, String sql) throws SQLException {
        try (Connection c = ds.getConnection(); Statement st = c.createStatement()) {
            st.execute(sql);
        }
    }

    @Test
    void aDatabaseFlywayMigratedIsUpToDateSoTheChecksumsAreFlywaysOwn() throws Exception {
        DataSource ds = sqlite();
        flywayMigrate(ds, "latest");
        Map<String, Migrations.Applied> recorded = new HashMap<>();
        try (Connection c = ds.getConnection(); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT script, version, description, type, checksum, success FROM flyway_schema_history")) {
            while (rs.next()) {
                recorded.put(rs.getString(1), new Migrations.Applied(rs.getString(2), rs.getString(3), rs.getString(4),
                        rs.getInt(5), rs.getBoolean(6)));
            }
        }
        assertEquals(recorded, Migrations.shipped());
        assertTrue(Migrations.upToDate(ds));
    }

    @Test
    void aNewDatabaseIsNotUpToDateAndGetsEveryMigration() throws Exception {
        DataSource ds = sqlite();
        assertFalse(Migrations.upToDate(ds));
        Migrations.apply(ds);
        assertTrue(Migrations.upToDate(ds));
    }

    @Test
    void anOlderDatabaseIsNotUpToDateAndGetsThePendingMigrations() throws Exception {
        DataSource ds = sqlite();
        int last = Migrations.shipped().size();
        flywayMigrate(ds, Integer.toString(last - 1));
        assertFalse(Migrations.upToDate(ds));
        Migrations.apply(ds);
        assertTrue(Migrations.upToDate(ds));
    }

    @Test
    void anEditedMigrationIsNotUpToDateAndFlywayStillRefusesIt() throws Exception {
        DataSource ds = sqlite();
        Migrations.apply(ds);
        execute(ds, "UPDATE flyway_schema_history SET checksum = checksum + 1 WHERE version = '1'");
        assertFalse(Migrations.upToDate(ds));
        RuntimeException e = assertThrows(RuntimeException.class, () -> Migrations.apply(ds));
        assertInstanceOf(FlywayValidateException.class, e);
    }

    @Test
    void aFailedOrExtraRowIsNotUpToDate() throws Exception {
        DataSource ds = sqlite();
        Migrations.apply(ds);
        execute(ds, "UPDATE flyway_schema_history SET success = 0 WHERE version = '1'");
        assertFalse(Migrations.upToDate(ds));
        execute(ds, "UPDATE flyway_schema_history SET success = 1 WHERE version = '1'");
        assertTrue(Migrations.upToDate(ds));
        execute(ds, "INSERT INTO flyway_schema_history (installed_rank, version, description, type, script, checksum, installed_by, execution_time, success)"
                + " SELECT max(installed_rank) + 1, '999', 'from a newer keyswap', 'SQL', 'V999__from_a_newer_keyswap.sql', 1, 'x', 0, 1 FROM flyway_schema_history");
        assertFalse(Migrations.upToDate(ds));
    }

    @Test
    void flywaysChecksumIgnoresLineBreaksAndTheByteOrderMark() throws Exception {
        int plain = Migrations.checksum(new java.io.ByteArrayInputStream("a\nb\n".getBytes()));
        assertEquals(plain, Migrations.checksum(new java.io.ByteArrayInputStream("\uFEFFa\r\nb".getBytes(java.nio.charset.StandardCharsets.UTF_8))));
    }
}
