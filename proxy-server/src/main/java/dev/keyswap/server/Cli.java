package dev.keyswap.server;

import dev.keyswap.auth.ApiKey;
import dev.keyswap.auth.TokenHasher;
import dev.keyswap.server.config.ConfigException;
import dev.keyswap.server.config.ConfigLoader;
import dev.keyswap.server.config.Settings;
import dev.keyswap.store.ApiKeyStore;
import dev.keyswap.store.Database;
import dev.keyswap.store.StoreException;
import dev.keyswap.store.VaultKeys;
import dev.keyswap.store.VaultRotation;
import dev.keyswap.vault.MasterKey;
import dev.keyswap.vault.Vault;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The command line (SPEC §3). Exit codes: 0 done, 1 failed, 2 the command line was wrong.
 * Output meant for scripts goes to stdout; messages and logs go to stderr.
 */
public final class Cli {
    static final String USAGE = """
            usage: keyswap <command> [options]

              serve                      run the proxy
              keys create --name N       create a token; prints it alone on the first line
                   [--scopes proxy,read,write,admin] [--providers openai,anthropic,...]
                   [--expires 30d|12h|2027-01-01T00:00:00Z] [--rpm N] [--no-server-keys]
              keys list                  one line per key: id, name, scopes, providers, expiry, state
              keys revoke ID             revoke a key (takes effect within the token cache TTL, 5 s by default)

              vault rotate [--batch N]   re-seal every stored secret under the current master key, N rows per
                                         transaction (default 100); the old key goes in vault.previous_master_keys
                                         until it finishes (docs/vault.md)

            every command takes --config FILE (default: config/keyswap.yaml)
            """;
    private static final Set<String> SCOPES = Set.of(ApiKey.SCOPE_PROXY, ApiKey.SCOPE_READ, ApiKey.SCOPE_WRITE, ApiKey.SCOPE_ADMIN);

    private final PrintStream out;
    private final PrintStream err;
    private final Map<String, String> env;

    public Cli(PrintStream out, PrintStream err, Map<String, String> env) {
        this.out = out;
        this.err = err;
        this.env = env;
    }

    /** Runs one command; {@code serve} returns only after shutdown. */
    public int run(String[] argv) {
        try {
            Args args = Args.parse(argv);
            String command = args.positional.isEmpty() ? "help" : args.positional.get(0);
            return switch (command) {
                case "vault" -> vault(args);
                case "serve" -> serve(args);
                case "keys" -> keys(args);
                case "help", "--help", "-h" -> {
                    out.print(USAGE);
                    yield 0;
                }
                default -> usage("unknown command '" + command + "'");
            };
        } catch (UsageError e) {
            return usage(e.getMessage());
        } catch (ConfigException | IllegalArgumentException | StoreException e) {
            err.println("keyswap: " + e.getMessage());
            return 1;
        } catch (UncheckedIOException e) {
            // e.g. the master key file cannot be created or read: say which file and why.
            err.println("keyswap: " + e.getMessage() + ": " + e.getCause().getMessage());
            return 1;
        } catch (IllegalStateException e) {
            // A refusal to run, such as a master key this database does not belong to.
            err.println("keyswap: " + e.getMessage());
            return 1;
        }
    }

    private int usage(String message) {
        err.println("keyswap: " + message);
        err.print(USAGE);
        return 2;
    }

    private Settings settings(Args args) {
        String explicit = args.options.get("config");
        Path file = Path.of(explicit != null ? explicit : "config/keyswap.yaml");
        return ConfigLoader.load(file, explicit != null, env);
    }

    private int serve(Args args) {
        args.allow("config");
        args.positionals(1, "serve takes no arguments");
        Settings settings = settings(args);
        Keyswap keyswap;
        try {
            keyswap = Keyswap.start(settings, env);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return 1;
        } catch (RuntimeException e) {
            throw e; // Keyswap.start has closed what it opened; run() reports the known kinds
        } catch (Exception e) {
            // Netty rethrows a failed bind (port in use, address not local) as an undeclared
            // checked exception. Reported here, the caller exits 1 instead of leaving a JVM whose
            // event loop threads keep it alive after main has died.
            if (!(e instanceof IOException)) {
                throw new IllegalStateException(e);
            }
            err.println("keyswap: cannot listen on " + settings.server().host() + ":" + settings.server().port()
                    + " (server.host, server.port): " + e.getMessage());
            return 1;
        }
        CountDownLatch stopped = new CountDownLatch(1);
        Runnable drain = () -> {
            keyswap.drainAndClose();
            stopped.countDown();
        };
        ShutdownSignals.onTerminate(drain);
        err.println("keyswap: serving on http://" + settings.server().host() + ":" + keyswap.port());
        try {
            stopped.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return 0;
    }

    private int keys(Args args) {
        if (args.positional.size() < 2) {
            throw new UsageError("keys needs a subcommand: create, list or revoke");
        }
        String sub = args.positional.get(1);
        switch (sub) {
            case "create" -> {
                args.allow("config", "name", "scopes", "providers", "expires", "rpm", "no-server-keys");
                args.positionals(2, "keys create takes options only (did you mean --name?)");
            }
            case "list" -> {
                args.allow("config");
                args.positionals(2, "keys list takes no arguments");
            }
            case "revoke" -> {
                args.allow("config");
                args.positionals(3, "keys revoke needs exactly one key id");
            }
            default -> throw new UsageError("unknown keys subcommand '" + sub + "'");
        }
        Settings settings = settings(args);
        List<MasterKey> masterKeys = Keyswap.masterKeys(settings, env);
        try (Database db = Database.open(settings.storageUrl())) {
            ApiKeyStore keys = new ApiKeyStore(db);
            return switch (sub) {
                case "create" -> createKey(args, keys, new TokenHasher(vaultKeys(db, masterKeys).tokenPepper()));
                case "list" -> listKeys(keys);
                default -> revokeKey(args, keys);
            };
        }
    }

    private int createKey(Args args, ApiKeyStore keys, TokenHasher hasher) {
        String name = args.options.get("name");
        if (name == null || name.isBlank()) {
            throw new UsageError("keys create needs --name");
        }
        Set<String> scopes = list(args.options.getOrDefault("scopes", ApiKey.SCOPE_PROXY));
        for (String s : scopes) {
            if (!SCOPES.contains(s)) {
                throw new UsageError("unknown scope '" + s + "' (expected proxy, read, write, admin)");
            }
        }
        Set<String> providers = list(args.options.getOrDefault("providers", ""));
        Integer rpm = null;
        if (args.options.containsKey("rpm")) {
            try {
                rpm = Integer.parseInt(args.options.get("rpm"));
            } catch (NumberFormatException e) {
                rpm = -1;
            }
            if (rpm <= 0) {
                throw new UsageError("--rpm must be a positive whole number");
            }
        }
        Instant now = Instant.now();
        Instant expires = args.options.containsKey("expires") ? expiry(args.options.get("expires"), now) : null;
        ApiKey key = new ApiKey(ApiKeyStore.newId(), "act_admin", name.trim(), scopes, providers,
                !args.flags.contains("no-server-keys"), rpm, expires, null, now, null);
        String token = Keyswap.createKey(keys, hasher, key);
        out.println(token);
        err.println("keyswap: created " + key.id() + " (" + key.name() + "); the token above is shown only now");
        return 0;
    }

    private int listKeys(ApiKeyStore keys) {
        Instant now = Instant.now();
        for (ApiKey k : keys.list(null)) {
            String state = k.isRevoked() ? "revoked" : k.isExpiredAt(now) ? "expired" : "active";
            out.printf("%s\t%s\tscopes=%s\tproviders=%s\texpires=%s\trpm=%s\t%s%n", k.id(), k.name(),
                    String.join(",", new java.util.TreeSet<>(k.scopes())),
                    k.providers().isEmpty() ? "*" : String.join(",", new java.util.TreeSet<>(k.providers())),
                    k.expiresAt() == null ? "never" : k.expiresAt().toString(),
                    k.rateLimitRpm() == null ? "-" : k.rateLimitRpm().toString(), state);
        }
        return 0;
    }

    private int revokeKey(Args args, ApiKeyStore keys) {
        String id = args.positional.get(2);
        if (keys.get(id).isEmpty()) {
            err.println("keyswap: no key with id " + id);
            return 1;
        }
        if (!keys.revoke(id, Instant.now())) {
            err.println("keyswap: " + id + " was already revoked");
            return 0;
        }
        err.println("keyswap: revoked " + id);
        return 0;
    }

    /** The database's vault records: refuses a master key it does not belong to; records a fresh one's. */
    private static VaultKeys vaultKeys(Database db, List<MasterKey> masterKeys) {
        return VaultKeys.open(db, new Vault(masterKeys), masterKeys.get(0));
    }

    private int vault(Args args) {
        if (args.positional.size() < 2) {
            throw new UsageError("vault needs a subcommand: rotate");
        }
        if (!args.positional.get(1).equals("rotate")) {
            throw new UsageError("unknown vault subcommand '" + args.positional.get(1) + "'");
        }
        args.allow("config", "batch");
        args.positionals(2, "vault rotate takes options only");
        int batch = 100;
        if (args.options.containsKey("batch")) {
            try {
                batch = Integer.parseInt(args.options.get("batch"));
            } catch (NumberFormatException e) {
                batch = -1;
            }
            if (batch <= 0) {
                throw new UsageError("--batch must be a positive whole number");
            }
        }
        Settings settings = settings(args);
        List<MasterKey> masterKeys = Keyswap.masterKeys(settings, env);
        try (Database db = Database.open(settings.storageUrl())) {
            Vault vault = new Vault(masterKeys);
            VaultKeys.open(db, vault, masterKeys.get(0));
            VaultRotation.Result r = VaultRotation.rotate(db, vault, batch);
            String done = "re-sealed " + r.resealed() + (r.resealed() == 1 ? " secret" : " secrets") + " in " + r.batches()
                    + (r.batches() == 1 ? " batch" : " batches");
            if (r.remaining() == 0) {
                err.println("keyswap: " + done + "; old keys can now be removed from vault.previous_master_keys");
                return 0;
            }
            err.println("keyswap: " + done + "; " + r.remaining() + " still under an old key (" + r.unreadable()
                    + " cannot be opened: tampered, or sealed under a key not configured; " + r.conflicts()
                    + " changed while rotating): keep vault.previous_master_keys and run vault rotate again");
            return 1;
        }
    }

    static Instant expiry(String value, Instant now) {
        Matcher m = Pattern.compile("(\\d{1,6})([mhdw])").matcher(value.trim());
        if (m.matches()) {
            long n = Long.parseLong(m.group(1));
            Duration d = switch (m.group(2)) {
                case "m" -> Duration.ofMinutes(n);
                case "h" -> Duration.ofHours(n);
                case "d" -> Duration.ofDays(n);
                default -> Duration.ofDays(7 * n);
            };
            if (d.isZero()) {
                throw new UsageError("--expires must be in the future");
            }
            return now.plus(d);
        }
        try {
            Instant at = Instant.parse(value.trim());
            if (!at.isAfter(now)) {
                throw new UsageError("--expires must be in the future");
            }
            return at;
        } catch (DateTimeParseException e) {
            throw new UsageError("--expires takes a duration (30d, 12h, 90m, 2w) or an ISO instant (2027-01-01T00:00:00Z)");
        }
    }

    private static Set<String> list(String csv) {
        Set<String> out = new LinkedHashSet<>();
        for (String s : csv.split(",")) {
            if (!s.isBlank()) {
                out.add(s.trim());
            }
        }
        return out;
    }

    static final class UsageError extends RuntimeException {
        UsageError(String message) {
            super(message);
        }
    }

    /** {@code --name value}, {@code --name=value}, bare flags, positionals. */
    static final class Args {
        private static final Set<String> FLAGS = Set.of("no-server-keys");
        final List<String> positional = new ArrayList<>();
        final Map<String, String> options = new HashMap<>();
        final Set<String> flags = new LinkedHashSet<>();

        static Args parse(String[] argv) {
            Args a = new Args();
            for (int i = 0; i < argv.length; i++) {
                String s = argv[i];
                if (s.startsWith("--") && s.length() > 2) {
                    String name = s.substring(2);
                    int eq = name.indexOf('=');
                    if (eq >= 0) {
                        a.options.put(name.substring(0, eq), name.substring(eq + 1));
                    } else if (FLAGS.contains(name) || name.equals("help")) {
                        a.flags.add(name);
                    } else {
                        // "--name --rpm 5" is a forgotten value, not a key named "--rpm".
                        if (i + 1 >= argv.length || argv[i + 1].startsWith("--")) {
                            throw new UsageError("--" + name + " needs a value");
                        }
                        a.options.put(name, argv[++i]);
                    }
                } else {
                    a.positional.add(s);
                }
            }
            return a;
        }

        void positionals(int expected, String message) {
            if (positional.size() != expected) {
                throw new UsageError(message);
            }
        }

        void allow(String... names) {
            Set<String> allowed = new java.util.HashSet<>(Arrays.asList(names));
            for (String k : options.keySet()) {
                if (!allowed.contains(k)) {
                    throw new UsageError("unknown option --" + k);
                }
            }
            for (String f : flags) {
                if (!allowed.contains(f)) {
                    throw new UsageError("unknown option --" + f);
                }
            }
        }
    }
}
