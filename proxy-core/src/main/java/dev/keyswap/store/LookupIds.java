package dev.keyswap.store;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * The ids of values that usage rows name instead of repeating them (usage_dims, usage_paths):
 * remembered once stored, added to their table the first time a batch needs them. For the
 * usage writer only (one thread), inside the batch's transaction.
 *
 * <p>Ids added in a transaction are remembered only after it commits ({@link Batch#commit}): a
 * rolled-back row's id is handed out again by SQLite, and must never stay cached for the old
 * value.
 *
 * @param <K> the value (a record of the columns, or a single string)
 */
final class LookupIds<K> {
    /** Binds a value's columns as the first parameters of a statement. */
    interface Binder<K> {
        void bind(PreparedStatement ps, K value) throws SQLException;
    }

    private final String table;
    private final String add;
    private final String find;
    private final Binder<K> binder;
    private final Cache<K, Long> stored;

    /**
     * @param table  the lookup table, for messages
     * @param add    an {@code INSERT … ON CONFLICT DO NOTHING} of the value's columns
     * @param find   a {@code SELECT id … WHERE} the same columns
     * @param cached how many values to remember: those in use, with room to spare
     */
    LookupIds(String table, String add, String find, Binder<K> binder, int cached) {
        this.table = table;
        this.add = add;
        this.find = find;
        this.binder = binder;
        this.stored = Caffeine.newBuilder().maximumSize(cached).executor(Runnable::run).build();
    }

    /** Starts the lookups of one transaction. */
    Batch batch() {
        return new Batch();
    }

    final class Batch {
        private final Map<K, Long> added = new HashMap<>();

        /** The id of each item's value, storing values not stored yet. */
        <T> long[] ids(Connection c, List<T> items, Function<T, K> valueOf) throws SQLException {
            long[] ids = new long[items.size()];
            PreparedStatement insert = null;
            PreparedStatement select = null;
            // Records in a row tend to name the same value (one client, one model): comparing with
            // the previous one is cheaper than hashing it into the cache.
            K previous = null;
            long previousId = 0;
            try {
                for (int i = 0; i < ids.length; i++) {
                    K value = valueOf.apply(items.get(i));
                    if (value == null) { // as a NOT NULL column would: the whole batch fails
                        throw new SQLException("a null value cannot be stored in " + table);
                    }
                    if (value.equals(previous)) {
                        ids[i] = previousId;
                        continue;
                    }
                    Long id = stored.getIfPresent(value);
                    if (id == null) {
                        id = added.get(value);
                    }
                    if (id == null) {
                        if (insert == null) {
                            insert = c.prepareStatement(add);
                            select = c.prepareStatement(find);
                        }
                        binder.bind(insert, value);
                        insert.executeUpdate();
                        binder.bind(select, value);
                        try (ResultSet rs = select.executeQuery()) {
                            rs.next();
                            id = rs.getLong(1);
                        }
                        added.put(value, id);
                    }
                    ids[i] = id;
                    previous = value;
                    previousId = id;
                }
            } finally {
                if (insert != null) {
                    insert.close();
                    select.close();
                }
            }
            return ids;
        }

        /** Call once the transaction committed: its new values exist now. */
        void commit() {
            stored.putAll(added);
        }
    }
}
