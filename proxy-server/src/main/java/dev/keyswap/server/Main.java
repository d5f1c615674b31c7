package dev.keyswap.server;

/** {@code keyswap} entry point: see {@link Cli}. */
public final class Main {
    private Main() {
    }

    public static void main(String[] args) {
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
