package dev.keyswap.server;

/** {@code keyswap} entry point: see {@link Cli}. */
public final class Main {
    private Main() {
    }

    public static void main(String[] args) {
        int code = new Cli(System.out, System.err, System.getenv()).run(args);
        if (code != 0 || args.length == 0 || !args[0].equals("serve")) {
            System.exit(code);
        }
    }
}
