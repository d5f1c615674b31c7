package dev.keyswap.store;

import static dev.keyswap.store.Jdbc.getDouble;
import static dev.keyswap.store.Jdbc.getInstant;
import static dev.keyswap.store.Jdbc.getLong;

import dev.keyswap.usage.UsageRecord;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import javax.sql.DataSource;

/** Blocking repository for usage records; call it on the JDBC executor. */
public final class UsageStore {
    /** What readers see (the usage_records view, V8; V9 adds block_id). */
    private static final String COLUMNS = "time, request_id, actor_id, token_id, provider, connection_id, method, path,"
            + " status, duration_us, upstream_us, bytes_in, bytes_out, model, input_tokens, output_tokens, cost_usd";
    /**
     * Records per usage_blocks row (V8, {@link UsageBlock}): a block is one statement step and four
     * bound parameters, however many records it holds. The view numbers a block's records by its
     * id times this, so it cannot grow without a migration.
     */
    static final int RECORDS_PER_BLOCK = 256;
    private static final String INSERT_BLOCK = "INSERT INTO usage_blocks (first_time, last_time, records, data) VALUES (?, ?, ?, ?)";
    private static final String ADD_DIMS = "INSERT INTO usage_dims (actor_id, token_id, provider, connection_id, method, model)"
            + " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING";
    private static final String FIND_DIMS = "SELECT id FROM usage_dims WHERE actor_id = ? AND token_id = ? AND provider = ?"
            + " AND connection_id = ? AND method = ? AND model = ?";
    /** Dimension combinations remembered by the writer: keys × providers × models in use, with room to spare. */
    private static final int DIMS_CACHED = 10_000;
    private static final String ADD_PATH = "INSERT INTO usage_paths (path) VALUES (?) ON CONFLICT DO NOTHING";
    private static final String FIND_PATH = "SELECT id FROM usage_paths WHERE path = ?";
    /** Paths remembered by the writer: an API's endpoints, and ids in paths (files, batches) while in use. */
    private static final int PATHS_CACHED = 10_000;
    private static final long MILLIS_PER_DAY = 86_400_000L;

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
    }

    /** A daily row's sums while a batch is added up. */
    private static final class DailySum {
        final DayKey key;
        long requests;
        long errors;
        long inputTokens;
        long outputTokens;
        double costUsd;
        long bytesIn;
        long bytesOut;

        DailySum(DayKey key) {
            this.key = key;
        }

        void add(UsageRecord r) {
            requests++;
            errors += r.status() >= 400 ? 1 : 0;
            inputTokens += r.inputTokens() == null ? 0 : r.inputTokens();
            outputTokens += r.outputTokens() == null ? 0 : r.outputTokens();
            costUsd += r.costUsd() == null || !Double.isFinite(r.costUsd()) ? 0 : r.costUsd(); // as the record stores it
            bytesIn += r.bytesIn();
            bytesOut += r.bytesOut();
        }
    }

    /** The columns of a row that repeat from request to request (usage_dims); '' for none. */
    private record Dims(String actorId, String tokenId, String provider, String connectionId, String method, String model) {
        static Dims of(UsageRecord r) {
            return new Dims(orEmpty(r.actorId()), orEmpty(r.tokenId()), orEmpty(r.provider()), orEmpty(r.connectionId()),
                    orEmpty(r.method()), orEmpty(r.model()));
        }
    }

    /** What a daily row is summed by. */
    private record DayKey(String day, String actorId, String tokenId, String provider, String connectionId, String model) {
        /** @param day {@code r}'s UTC date, {@code YYYY-MM-DD} */
        static DayKey of(UsageRecord r, String day) {
            return new DayKey(day, orEmpty(r.actorId()),
                    orEmpty(r.tokenId()), orEmpty(r.provider()), orEmpty(r.connectionId()), orEmpty(r.model()));
        }

        /** {@code r} of {@code day} is summed by this key (without making its key). */
        boolean covers(UsageRecord r, String day) {
            return this.day.equals(day) && actorId.equals(orEmpty(r.actorId())) && tokenId.equals(orEmpty(r.tokenId()))
                    && provider.equals(orEmpty(r.provider())) && connectionId.equals(orEmpty(r.connectionId()))
                    && model.equals(orEmpty(r.model()));
        }
    }

    private static String orEmpty(String v) {
        return v == null ? "" : v;
    }

    private final DataSource ds;
    private final LookupIds<Dims> dimsIds =
            new LookupIds<>("usage_dims", ADD_DIMS, FIND_DIMS, UsageStore::bindDims, DIMS_CACHED);
    private final LookupIds<String> pathIds =
            new LookupIds<>("usage_paths", ADD_PATH, FIND_PATH, (ps, path) -> ps.setString(1, path), PATHS_CACHED);

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
        LookupIds<Dims>.Batch dimsBatch = dimsIds.batch();
        LookupIds<String>.Batch pathBatch = pathIds.batch();
        Jdbc.inTransaction(ds, "inserting " + records.size() + " usage records", c -> {
            long[] dims = dimsBatch.ids(c, records, Dims::of);
            long[] paths = pathBatch.ids(c, records, UsageRecord::path);
            UsageBlock block = new UsageBlock();
            try (PreparedStatement ps = c.prepareStatement(INSERT_BLOCK)) {
                for (int from = 0; from < records.size(); from += RECORDS_PER_BLOCK) {
                    int to = Math.min(records.size(), from + RECORDS_PER_BLOCK);
                    byte[] data = block.encode(records, dims, paths, from, to);
                    ps.setLong(1, block.firstTime());
                    ps.setLong(2, block.lastTime());
                    ps.setInt(3, to - from);
                    ps.setBytes(4, data);
                    ps.executeUpdate();
                    // A batch is milliseconds of CPU, and the scheduler lets it run on while an
                    // event loop that has just woken waits (c=1 p99 ~2.5 ms, cpu-profile.sh):
                    // between statements, a waiting request goes first.
                    Thread.yield();
                }
            }
            addToDaily(c, records);
        });
        dimsBatch.commit();
        pathBatch.commit();
    }

    private static void bindDims(PreparedStatement ps, Dims d) throws SQLException {
        ps.setString(1, d.actorId());
        ps.setString(2, d.tokenId());
        ps.setString(3, d.provider());
        ps.setString(4, d.connectionId());
        ps.setString(5, d.method());
        ps.setString(6, d.model());
    }

    /** Sums the batch by day and key in memory, then one upsert per sum: usually a handful. */
    private static void addToDaily(Connection c, List<UsageRecord> records) throws SQLException {
        Map<DayKey, DailySum> sums = new HashMap<>();
        // A batch's records are nearly always of one day: format a date when the day changes, not
        // per record (formatting was ~7 % of the writer's samples, async-profiler on UsageWriteBenchmark).
        long dayNumber = Long.MIN_VALUE;
        String day = null;
        DailySum sum = null; // the previous record's: records in a row are mostly of one key
        for (UsageRecord r : records) {
            long n = Math.floorDiv(r.time().toEpochMilli(), MILLIS_PER_DAY);
            if (n != dayNumber) {
                dayNumber = n;
                day = LocalDate.ofEpochDay(n).toString();
            }
            if (sum == null || !sum.key.covers(r, day)) {
                sum = sums.computeIfAbsent(DayKey.of(r, day), DailySum::new);
            }
            sum.add(r);
        }
        try (PreparedStatement ps = c.prepareStatement(ADD_TO_DAILY)) {
            for (DailySum d : sums.values()) {
                ps.setString(1, d.key.day());
                ps.setString(2, d.key.actorId());
                ps.setString(3, d.key.tokenId());
                ps.setString(4, d.key.provider());
                ps.setString(5, d.key.connectionId());
                ps.setString(6, d.key.model());
                ps.setLong(7, d.requests);
                ps.setLong(8, d.errors);
                ps.setLong(9, d.inputTokens);
                ps.setLong(10, d.outputTokens);
                ps.setDouble(11, d.costUsd);
                ps.setLong(12, d.bytesIn);
                ps.setLong(13, d.bytesOut);
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

    /** The first record of a request id (a scan: no index is kept for this rare lookup). */
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

    /**
     * The last {@code limit} records written, newest first: the newest blocks that hold them are
     * found by their record counts, and only those are unpacked (through the usage_records view,
     * by its block_id, V9; its record ids are computed, so ordering the whole view would unpack
     * every block).
     */
    public List<UsageRecord> latest(int limit) {
        try (Connection c = ds.getConnection()) {
            long firstBlock = -1;
            try (PreparedStatement ps = c.prepareStatement("SELECT id, records FROM usage_blocks ORDER BY id DESC");
                    ResultSet rs = ps.executeQuery()) {
                for (long held = 0; held < limit && rs.next(); held += rs.getLong(2)) {
                    firstBlock = rs.getLong(1);
                }
            }
            List<UsageRecord> out = new ArrayList<>();
            if (firstBlock < 0) {
                return out;
            }
            try (PreparedStatement ps = c.prepareStatement(
                    "SELECT " + COLUMNS + " FROM usage_records WHERE block_id >= ? ORDER BY id DESC LIMIT ?")) {
                ps.setLong(1, firstBlock);
                ps.setInt(2, limit);
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        out.add(map(rs));
                    }
                }
            }
            return out;
        } catch (SQLException e) {
            throw new StoreException("reading the latest usage records failed", e);
        }
    }

    public long count() {
        try (Connection c = ds.getConnection();
                PreparedStatement ps = c.prepareStatement("SELECT COALESCE(SUM(records), 0) FROM usage_blocks");
                ResultSet rs = ps.executeQuery()) {
            rs.next();
            return rs.getLong(1);
        } catch (SQLException e) {
            throw new StoreException("counting usage records failed", e);
        }
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
