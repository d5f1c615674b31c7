package dev.keyswap.bench.load;

/** Nearest-rank percentiles over a sorted array of samples. */
final class Stats {
    private Stats() {
    }

    /** @return the sample at percentile {@code p} (0..100) of {@code sorted}, or -1 when empty */
    static long percentile(long[] sorted, double p) {
        if (sorted.length == 0) {
            return -1;
        }
        int rank = (int) Math.ceil(p / 100.0 * sorted.length);
        return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
    }
}
