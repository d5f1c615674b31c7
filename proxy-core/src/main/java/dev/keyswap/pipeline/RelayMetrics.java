package dev.keyswap.pipeline;

import java.util.concurrent.atomic.LongAdder;

/** Counters of the relay, exported in /metrics. */
public final class RelayMetrics {
    final LongAdder exchanges = new LongAdder();
    final LongAdder upstreamErrors = new LongAdder();
    final LongAdder clientAborts = new LongAdder();
    final LongAdder retries = new LongAdder();
    final LongAdder active = new LongAdder();
    final LongAdder webSockets = new LongAdder();
    /** Requests whose head step waits on storage (a token or credential lookup); see {@link Parking}. */
    final LongAdder parked = new LongAdder();

    public long webSockets() {
        return webSockets.sum();
    }

    public long exchanges() {
        return exchanges.sum();
    }

    public long upstreamErrors() {
        return upstreamErrors.sum();
    }

    public long clientAborts() {
        return clientAborts.sum();
    }

    public long retries() {
        return retries.sum();
    }

    public long active() {
        return active.sum();
    }

    public long parked() {
        return parked.sum();
    }
}
