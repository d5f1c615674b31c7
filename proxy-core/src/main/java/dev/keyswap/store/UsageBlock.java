package dev.keyswap.store;

import com.fasterxml.jackson.core.io.NumberOutput;
import dev.keyswap.usage.UsageRecord;
import java.nio.charset.StandardCharsets;
import java.sql.SQLException;
import java.util.Arrays;
import java.util.List;

/**
 * Writes a run of usage records as one {@code usage_blocks.data} value (V8): a JSON array of
 * records, each the array {@code [time - first_time, request_id, dims_id, path_id, status,
 * duration_us, upstream_us, bytes_in, bytes_out, input_tokens, output_tokens, cost_usd]} (the
 * order the {@code usage_records} view reads them in), in SQLite's binary JSON form, JSONB
 * (https://sqlite.org/jsonb.html, a stable on-disk format since SQLite 3.45).
 *
 * <p>Why blocks, and why JSONB: storing each record as a table row cost the usage writer ~3 µs per
 * proxied request (SQLite stepping a row, the driver's JNI call per bound parameter), more than
 * any other single step of a request's CPU. A block of up to {@value UsageStore#RECORDS_PER_BLOCK}
 * records is one row with four parameters, and its records are written here in plain Java.
 * JSONB, rather than a format of our own, keeps every record readable from SQL: the
 * {@code usage_records} view unpacks blocks with {@code jsonb_each} and {@code ->>}.
 *
 * <p>Encoding used: each element is a header (type in the low four bits of its first byte, the
 * payload size in the high four, or in the 1, 2 or 4 bytes after it) and a payload. Integers are
 * INT (their decimal digits, written by Jackson's {@code NumberOutput}), the cost is FLOAT (in RFC
 * 8259 number syntax: a whole number of picodollars as its digits and an exponent, {@code 135e-8};
 * any other cost as the shortest decimal that reads back as the same double), text is
 * TEXTRAW (UTF-8 as it is; SQLite escapes it when it renders JSON), and an absent value is NULL. A record's size is not known until it is written, so its header is
 * reserved at the two-byte size, the block's at the four-byte one: SQLite reads a size written
 * in more bytes than it needs (and {@code json_valid(data, 8)} accepts it, which the tests check).
 * Not thread-safe: one per batch.
 */
final class UsageBlock {
    private static final int NULL = 0;
    private static final int INT = 3;
    private static final int FLOAT = 5;
    private static final int TEXTRAW = 10;
    private static final int ARRAY = 11;
    /** Size codes: the size in the 1, 2 or 4 bytes after the first (big-endian); 0-11 are the size itself. */
    private static final int SIZE_IN_1 = 12;
    private static final int SIZE_IN_2 = 13;
    private static final int SIZE_IN_4 = 14;
    /** Every whole number up to 2^53 is a double exactly. */
    private static final long MAX_EXACT_LONG = 1L << 53;

    private byte[] buf = new byte[16 * 1024];
    private int end;
    private long firstTime;
    private long lastTime;

    /**
     * Encodes {@code records[from, to)}; {@code dims} and {@code paths} are their lookup ids.
     *
     * @return the block's JSONB value, exactly its length
     * @throws SQLException a record without a time or request id (a row's NOT NULL refused them before)
     */
    byte[] encode(List<UsageRecord> records, long[] dims, long[] paths, int from, int to) throws SQLException {
        firstTime = Long.MAX_VALUE;
        lastTime = Long.MIN_VALUE;
        for (int i = from; i < to; i++) {
            UsageRecord r = records.get(i);
            if (r.time() == null || r.requestId() == null) {
                throw new SQLException("a usage record without " + (r.time() == null ? "a time" : "a request id"));
            }
            long time = r.time().toEpochMilli();
            firstTime = Math.min(firstTime, time);
            lastTime = Math.max(lastTime, time);
        }
        end = 0;
        int block = reserve(5);
        for (int i = from; i < to; i++) {
            record(records.get(i), dims[i], paths[i]);
        }
        patch(block, SIZE_IN_4, end - block - 5);
        return Arrays.copyOf(buf, end);
    }

    /** The earliest record time of the last block encoded, epoch milliseconds. */
    long firstTime() {
        return firstTime;
    }

    /** The latest record time of the last block encoded, epoch milliseconds. */
    long lastTime() {
        return lastTime;
    }

    private void record(UsageRecord r, long dimsId, long pathId) {
        int header = reserve(3);
        integer(r.time().toEpochMilli() - firstTime); // a few digits instead of thirteen
        text(r.requestId());
        integer(dimsId);
        integer(pathId);
        integer(r.status());
        integer(r.durationMicros());
        integer(r.upstreamMicros());
        integer(r.bytesIn());
        integer(r.bytesOut());
        integer(r.inputTokens());
        integer(r.outputTokens());
        real(r.costUsd());
        int size = end - header - 3;
        if (size > 0xffff) { // only a request id of tens of kilobytes: move the payload for a 4-byte size
            ensure(2);
            System.arraycopy(buf, header + 3, buf, header + 5, size);
            end += 2;
            patch(header, SIZE_IN_4, size);
        } else {
            patch(header, SIZE_IN_2, size);
        }
    }

    /** Leaves {@code n} bytes for a container's header; returns where they start. */
    private int reserve(int n) {
        ensure(n);
        int at = end;
        end += n;
        return at;
    }

    /** Writes an ARRAY header at {@code at} with the size in the bytes {@code sizeCode} says. */
    private void patch(int at, int sizeCode, int size) {
        int sizeBytes = sizeCode == SIZE_IN_2 ? 2 : 4;
        buf[at] = (byte) (sizeCode << 4 | ARRAY);
        for (int i = 0; i < sizeBytes; i++) {
            buf[at + 1 + i] = (byte) (size >>> 8 * (sizeBytes - 1 - i));
        }
    }

    /** Appends the header of an element of {@code size} payload bytes, in as few bytes as it needs. */
    private void header(int type, int size) {
        ensure(5 + size);
        if (size <= 11) {
            buf[end++] = (byte) (size << 4 | type);
        } else if (size <= 0xff) {
            buf[end++] = (byte) (SIZE_IN_1 << 4 | type);
            buf[end++] = (byte) size;
        } else if (size <= 0xffff) {
            buf[end++] = (byte) (SIZE_IN_2 << 4 | type);
            buf[end++] = (byte) (size >>> 8);
            buf[end++] = (byte) size;
        } else {
            buf[end++] = (byte) (SIZE_IN_4 << 4 | type);
            buf[end++] = (byte) (size >>> 24);
            buf[end++] = (byte) (size >>> 16);
            buf[end++] = (byte) (size >>> 8);
            buf[end++] = (byte) size;
        }
    }

    private void integer(Long value) {
        if (value == null) {
            nul();
        } else {
            integer(value.longValue());
        }
    }

    private void integer(long value) {
        ensure(2 + 20);
        // The header goes before the digits, so its size is told from the value: eleven characters
        // or fewer fit in its first byte.
        boolean shortForm = value >= -9_999_999_999L && value <= 99_999_999_999L;
        int at = end + (shortForm ? 1 : 2);
        int size = NumberOutput.outputLong(value, buf, at) - at;
        if (shortForm) {
            buf[end] = (byte) (size << 4 | INT);
        } else {
            buf[end] = (byte) (SIZE_IN_1 << 4 | INT);
            buf[end + 1] = (byte) size;
        }
        end = at + size;
    }

    private void real(Double value) {
        if (value == null || !Double.isFinite(value)) {
            nul(); // JSON has no NaN or infinities; no price makes one
            return;
        }
        double v = value;
        long pico = Math.round(v * 1e12);
        // A cost that is a whole number of picodollars, as PriceTable's are, is written as those
        // digits times 10^-12 ("243e-7"): text that reads back as the same double (SQLite rounds
        // pico × 10^-12 to the nearest double, as the division did) in ~23 ns, where the
        // shortest decimal takes ~66 (a loop over 1,024 such costs, 2026-11-24). Exact only while
        // the digits fit a double's 53 bits; Double.compare keeps -0.0 off this path.
        if (Math.abs(pico) <= MAX_EXACT_LONG && Double.compare(pico / 1e12, v) == 0) {
            picoReal(pico);
            return;
        }
        // Jackson's Schubfach writer: the shortest decimal that reads back as the same double, like
        // Double.toString, in ~140 ns a cost where JDK 17's took ~230 (JMH UsageWrite profile).
        bytes(FLOAT, NumberOutput.toString(value, true).getBytes(StandardCharsets.US_ASCII));
    }

    /** A FLOAT of {@code pico} × 10^-12, its trailing zeros moved into the exponent. */
    private void picoReal(long pico) {
        int exponent = -12;
        if (pico == 0) {
            exponent = 0;
        }
        while (pico != 0 && pico % 10 == 0) {
            pico /= 10;
            exponent++;
        }
        ensure(2 + 20 + 4);
        int at = end + 2; // the longest form ("-9007199254740992e-12", 21 bytes) needs a size byte
        int p = NumberOutput.outputLong(pico, buf, at);
        buf[p++] = 'e';
        p = NumberOutput.outputInt(exponent, buf, p);
        int size = p - at;
        if (size <= 11) {
            System.arraycopy(buf, at, buf, end + 1, size);
            buf[end] = (byte) (size << 4 | FLOAT);
            end += 1 + size;
        } else {
            buf[end] = (byte) (SIZE_IN_1 << 4 | FLOAT);
            buf[end + 1] = (byte) size;
            end = p;
        }
    }

    private void text(String value) {
        // For ASCII, getBytes is the JDK's vectorized check and one copy: ~11 ns for a request id,
        // where a loop over its chars took ~19.
        bytes(TEXTRAW, value.getBytes(StandardCharsets.UTF_8));
    }

    private void bytes(int type, byte[] payload) {
        header(type, payload.length);
        System.arraycopy(payload, 0, buf, end, payload.length);
        end += payload.length;
    }

    private void nul() {
        ensure(1);
        buf[end++] = (byte) NULL;
    }

    private void ensure(int more) {
        if (end + more > buf.length) {
            buf = Arrays.copyOf(buf, Math.max(buf.length * 2, end + more));
        }
    }
}
