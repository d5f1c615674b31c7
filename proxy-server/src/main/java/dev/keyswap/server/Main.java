package dev.keyswap.server;

/** {@code keyswap} entry point: see {@link Cli}. */
public final class Main {
    private Main() {
    }

    /**
     * Netty samples buffers for leak tracking unless told not to; on the proxy path that costs ~3 %
     * of the event loop's time per request (a stack trace per sampled buffer; proxy-bench
     * profile). Keyswap's own tests run Netty's detector at PARANOID and fail on any leak, so a
     * production process leaves it off unless the operator asks for it, e.g.
     * {@code KEYSWAP_JAVA_OPTS=-Dio.netty.leakDetection.level=simple}.
     */
    static final String LEAK_DETECTION_LEVEL = "io.netty.leakDetection.level";

    /**
     * Netty registers its buffer allocator's Flight Recorder events when JFR is available, which
     * loads JFR's machinery (classes the class-data archive cannot hold) on the first buffer:
     * ~150 ms of a start on one CPU (proxy-bench/startup.sh), for events only a JFR recording
     * that asks for them would see. Operators profiling the allocator turn them back on with
     * {@code KEYSWAP_JAVA_OPTS=-Dio.netty.jfr.enabled=true}.
     */
    static final String NETTY_JFR = "io.netty.jfr.enabled";

    public static void main(String[] args) {
        if (System.getProperty(LEAK_DETECTION_LEVEL) == null) {
            System.setProperty(LEAK_DETECTION_LEVEL, "disabled");
        }
        if (System.getProperty(NETTY_JFR) == null) {
            System.setProperty(NETTY_JFR, "false");
        }
        int code;
        try {
            code = new Cli(System.out, System.err, System.getenv()).run(args);
        } catch (RuntimeException | Error e) {
            // Exit explicitly: a thread started before the failure (an event loop, a pool) would
            // otherwise keep the JVM alive after main has died.
            System.err.print("keyswap: unexpected error: ");
            e.printStackTrace(System.err);
            code = 1;
        }
        // serve returns 0 only once its drain has started; ShutdownSignals exits when it ends.
        if (code != 0 || args.length == 0 || !args[0].equals("serve")) {
            System.exit(code);
        }
    }
}
