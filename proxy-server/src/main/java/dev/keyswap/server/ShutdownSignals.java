package dev.keyswap.server;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import sun.misc.Signal;

/**
 * SIGTERM and SIGINT start a drain and then exit 0. The JVM's own handling (shutdown hooks, exit
 * status 143) would make an orderly stop look like a crash to an orchestrator.
 */
final class ShutdownSignals {
    private static final Logger log = LoggerFactory.getLogger(ShutdownSignals.class);

    private ShutdownSignals() {
    }

    static void onTerminate(Runnable drain) {
        Runnable once = new Runnable() {
            private boolean started;

            @Override
            public synchronized void run() {
                if (started) {
                    return;
                }
                started = true;
                Thread t = new Thread(() -> {
                    log.info("draining: no new connections; finishing in-flight requests");
                    try {
                        drain.run();
                    } finally {
                        log.info("stopped");
                        System.exit(0);
                    }
                }, "keyswap-drain");
                t.start();
            }
        };
        for (String name : new String[] {"TERM", "INT"}) {
            try {
                Signal.handle(new Signal(name), s -> once.run());
            } catch (IllegalArgumentException e) {
                log.debug("signal {} not available: {}", name, e.getMessage());
            }
        }
    }
}
