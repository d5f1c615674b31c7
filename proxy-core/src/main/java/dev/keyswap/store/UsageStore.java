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
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
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

    private static final String ADD_TO_DAILY = "INSERT INTO usage_daily (day, actor_id, token_id, provider, connection_id,"
            + " model, requests, errors, input_tokens, output_tokens, cost_usd, bytes_in, bytes_out)"
            + " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            + " ON CONFLICT (day, actor_id, token_id, provider, connection_id, model) DO UPDATE SET"
            + " requests = requests + excluded.requests, errors = errors + excluded.errors,"
            + " input_tokens = input_tokens + excluded.input_tokens, output_tokens = output_tokens + excluded.output_tokens,"
            + " cost_usd = cost_usd + excluded.cost_usd, bytes_in = bytes_in + excluded.bytes_in,"
            + " bytes_out = bytes_out + excluded.bytes_out";

    /**
     * One day's usage for one combination of actor, key, provider or connection, and model. Absent
     * parts (no model reported, a provider route's connection) are empty strings; unreported token
     * counts and unpriced requests add 0.
     *
     * @param day    UTC date, {@code YYYY-MM-DD}
     * @param errors requests answered with a status of 400 or more
     */
    public record DailyUsage(String day, String actorId, String tokenId, String provider, String connectionId, String model,
                             long requests, long errors, long inputTokens, long outputTokens, double costUsd, long bytesIn,
                             long bytesOut) {
        DailyUsage plus(UsageRecord r) {
            return new DailyUsage(day, actorId, tokenId, provider, connectionId, model, requests + 1,
                    errors + (r.status() >= 400 ? 1 : 0), inputTokens + orZero(r.inputTokens()),
                    outputTokens + orZero(r.outputTokens()), costUsd + (r.costUsd() == null ? 0 : r.costUsd()),
                    bytesIn + r.bytesIn(), bytesOut + r.bytesOut());
        }

        static DailyUsage none(DayKey k) {
            return new DailyUsage(k.day(), k.actorId(), k.tokenId(), k.provider(), k.connectionId(), k.model(),
                    0, 0, 0, 0, 0, 0, 0);
        }

        private static long orZero(Long v) {
            return v == null ? 0 : v;
        }
    }

    /** What a daily row is summed by. */
    private record DayKey(String day, String actorId, String tokenId, String provider, String connectionId, String model) {
        static DayKey of(UsageRecord r) {
            return new DayKey(r.time().atOffset(ZoneOffset.UTC).toLocalDate().toString(), orEmpty(r.actorId()),
                    orEmpty(r.tokenId()), orEmpty(r.provider()), orEmpty(r.connectionId()), orEmpty(r.model()));
        }

        private static String orEmpty(String v) {
            return v == null ? "" : v;
        }
    }

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
            addToDaily(c, records);
        });
    }

    /** Sums the batch by day and key in memory, then one upsert per sum: usually a handful. */
    private static void addToDaily(Connection c, List<UsageRecord> records) throws SQLException {
        Map<DayKey, DailyUsage> sums = new HashMap<>();
        for (UsageRecord r : records) {
            sums.compute(DayKey.of(r), (k, sum) -> (sum == null ? DailyUsage.none(k) : sum).plus(r));
        }
        try (PreparedStatement ps = c.prepareStatement(ADD_TO_DAILY)) {
            for (DailyUsage d : sums.values()) {
                ps.setString(1, d.day());
                ps.setString(2, d.actorId());
                ps.setString(3, d.tokenId());
                ps.setString(4, d.provider());
                ps.setString(5, d.connectionId());
                ps.setString(6, d.model());
                ps.setLong(7, d.requests());
                ps.setLong(8, d.errors());
                ps.setLong(9, d.inputTokens());
                ps.setLong(10, d.outputTokens());
                ps.setDouble(11, d.costUsd());
                ps.setLong(12, d.bytesIn());
                ps.setLong(13, d.bytesOut());
                ps.addBatch();
            }
            ps.executeBatch();
        }
    }

    /** An actor's daily usage, oldest day first, each day's rows in key order. */
    public List<DailyUsage> daily(String actorId) {
        String sql = "SELECT day, actor_id, token_id, provider, connection_id, model, requests, errors, input_tokens,"
                + " output_tokens, cost_usd, bytes_in, bytes_out FROM usage_daily WHERE actor_id = ?"
                + " ORDER BY day, token_id, provider, connection_id, model";
        try (Connection c = ds.getConnection(); PreparedStatement ps = c.prepareStatement(sql)) {
            ps.setString(1, actorId);
            List<DailyUsage> out = new ArrayList<>();
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(new DailyUsage(rs.getString(1), rs.getString(2), rs.getString(3), rs.getString(4),
                            rs.getString(5), rs.getString(6), rs.getLong(7), rs.getLong(8), rs.getLong(9), rs.getLong(10),
                            rs.getDouble(11), rs.getLong(12), rs.getLong(13)));
                }
            }
            return out;
        } catch (SQLException e) {
            throw new StoreException("reading the daily usage of actor " + actorId + " failed", e);
        }
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
