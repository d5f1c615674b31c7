package dev.keyswap.store;

import static dev.keyswap.store.Jdbc.getDouble;
import static dev.keyswap.store.Jdbc.getInstant;
import static dev.keyswap.store.Jdbc.getLong;
import static dev.keyswap.store.Jdbc.setDouble;
import static dev.keyswap.store.Jdbc.setInstant;
import static dev.keyswap.store.Jdbc.setLong;

import dev.keyswap.usage.UsageRecord;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import javax.sql.DataSource;

/** Blocking repository for usage records; call it on the JDBC executor. */
public final class UsageStore {
    private static final String COLUMNS = "time, request_id, actor_id, token_id, provider, connection_id, method, path,"
            + " status, duration_us, upstream_us, bytes_in, bytes_out, model, input_tokens, output_tokens, cost_usd";
    private static final int COLUMN_COUNT = 17;
    private static final String ROW = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
    private static final String INSERT = "INSERT INTO usage_records (" + COLUMNS + ") VALUES " + ROW;
    /**
     * Rows per multi-row INSERT. One statement step per 64 rows instead of per row roughly halves
     * the writer's CPU per record (proxy-bench, usage writer thread), and 64 × 17 parameters stay
     * far below SQLite's limit of 32,766.
     */
    static final int ROWS_PER_INSERT = 64;
    private static final String INSERT_MANY = "INSERT INTO usage_records (" + COLUMNS + ") VALUES "
            + String.join(", ", Collections.nCopies(ROWS_PER_INSERT, ROW));

    private final DataSource ds;

    public UsageStore(Database db) {
        this.ds = db.dataSource();
    }

    /** Inserts all records in one transaction (all or nothing). */
    public void insertBatch(List<UsageRecord> records) {
        if (records.isEmpty()) {
            return;
        }
        // One transaction per batch: SQLite syncs once per commit, so this is what makes the
        // background writer keep up, not just what makes it atomic.
        Jdbc.inTransaction(ds, "inserting " + records.size() + " usage records", c -> {
            int full = records.size() / ROWS_PER_INSERT * ROWS_PER_INSERT;
            if (full > 0) {
                try (PreparedStatement ps = c.prepareStatement(INSERT_MANY)) {
                    for (int start = 0; start < full; start += ROWS_PER_INSERT) {
                        for (int i = 0; i < ROWS_PER_INSERT; i++) {
                            bind(ps, i * COLUMN_COUNT, records.get(start + i));
                        }
                        ps.executeUpdate();
                    }
                }
            }
            if (full < records.size()) {
                try (PreparedStatement ps = c.prepareStatement(INSERT)) {
                    for (UsageRecord r : records.subList(full, records.size())) {
                        bind(ps, 0, r);
                        ps.addBatch();
                    }
                    ps.executeBatch();
                }
            }
        });
    }

    public Optional<UsageRecord> findByRequestId(String requestId) {
        String sql = "SELECT " + COLUMNS + " FROM usage_records WHERE request_id = ? ORDER BY id LIMIT 1";
        try (Connection c = ds.getConnection(); PreparedStatement ps = c.prepareStatement(sql)) {
            ps.setString(1, requestId);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? Optional.of(map(rs)) : Optional.empty();
            }
        } catch (SQLException e) {
            throw new StoreException("looking up the usage record of request " + requestId + " failed", e);
        }
    }

    public long count() {
        try (Connection c = ds.getConnection();
                PreparedStatement ps = c.prepareStatement("SELECT COUNT(*) FROM usage_records");
                ResultSet rs = ps.executeQuery()) {
            rs.next();
            return rs.getLong(1);
        } catch (SQLException e) {
            throw new StoreException("counting usage records failed", e);
        }
    }

    /** Binds one row's {@value #COLUMN_COUNT} parameters after the first {@code offset}. */
    private static void bind(PreparedStatement ps, int offset, UsageRecord r) throws SQLException {
        setInstant(ps, offset + 1, r.time());
        ps.setString(offset + 2, r.requestId());
        ps.setString(offset + 3, r.actorId());
        ps.setString(offset + 4, r.tokenId());
        ps.setString(offset + 5, r.provider());
        ps.setString(offset + 6, r.connectionId());
        ps.setString(offset + 7, r.method());
        ps.setString(offset + 8, r.path());
        ps.setInt(offset + 9, r.status());
        ps.setLong(offset + 10, r.durationMicros());
        ps.setLong(offset + 11, r.upstreamMicros());
        ps.setLong(offset + 12, r.bytesIn());
        ps.setLong(offset + 13, r.bytesOut());
        ps.setString(offset + 14, r.model());
        setLong(ps, offset + 15, r.inputTokens());
        setLong(ps, offset + 16, r.outputTokens());
        setDouble(ps, offset + 17, r.costUsd());
    }

    private static UsageRecord map(ResultSet rs) throws SQLException {
        return new UsageRecord(
                getInstant(rs, "time"),
                rs.getString("request_id"),
                rs.getString("actor_id"),
                rs.getString("token_id"),
                rs.getString("provider"),
                rs.getString("connection_id"),
                rs.getString("method"),
                rs.getString("path"),
                rs.getInt("status"),
                rs.getLong("duration_us"),
                rs.getLong("upstream_us"),
                rs.getLong("bytes_in"),
                rs.getLong("bytes_out"),
                rs.getString("model"),
                getLong(rs, "input_tokens"),
                getLong(rs, "output_tokens"),
                getDouble(rs, "cost_usd"));
    }
}
