package dev.keyswap.upstream;

import java.util.concurrent.atomic.LongAdder;

/** Counters of the upstream side, exported in /metrics. */
public final class UpstreamMetrics {
    private final LongAdder connected = new LongAdder();
    private final LongAdder reused = new LongAdder();

    void upstreamConnected() {
        connected.increment();
    }

    void upstreamReused() {
        reused.increment();
    }

    public long connections() {
        return connected.sum();
    }

    public long reuses() {
        return reused.sum();
    }
}
