package dev.keyswap.server;

import dev.keyswap.auth.ApiKey;
import dev.keyswap.connect.AddressPolicy;
import dev.keyswap.route.UpstreamTarget;
import java.net.InetAddress;
import java.net.UnknownHostException;
import dev.keyswap.connect.AuthType;
import dev.keyswap.connect.Connection;
import dev.keyswap.auth.TokenHasher;
import dev.keyswap.server.config.ConfigException;
import dev.keyswap.server.config.ConfigLoader;
import dev.keyswap.server.config.Settings;
import dev.keyswap.store.ApiKeyStore;
import dev.keyswap.store.ConnectionStore;
import dev.keyswap.store.Database;
import dev.keyswap.store.SplitKeyStore;
import dev.keyswap.store.StoreException;
import dev.keyswap.store.UsageStore;
import dev.keyswap.usage.UsageRecord;
import dev.keyswap.store.VaultKeys;
import dev.keyswap.store.VaultRotation;
import dev.keyswap.vault.MasterKey;
import dev.keyswap.vault.Vault;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;
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
                   [--connections cn_a,cn_b]
              keys list                  one line per key: id, name, scopes, providers, expiry, state
              keys revoke ID             revoke a key (takes effect within the token cache TTL, 5 s by default)
              connections add --name N (--provider P | --base-url URL)
                   --auth bearer|api_key|basic|oauth2_token|query|none [--auth-param NAME]
                   [--header 'Name: value']... [--allow-path /prefix]... [--secret-env VAR]
                                         store a credential; the secret is read from stdin (one per
                                         line; several lines make a key pool) or from $VAR, never
                                         from the command line; prints the new connection id
              connections list           one line per connection: id, name, upstream, auth, masked secrets
              connections remove ID      delete a connection and its secrets
              split-keys create --provider P
                                         split a provider key read from stdin; prints key_id= and
                                         client_part= (shown only now; Keyswap keeps no copy of it)
              split-keys list            one line per split key: id, provider, created, state
              split-keys revoke ID       revoke a split key

              logs [--limit N]           the request log, newest first: one JSON object per line (time,
                                         request id, actor, key, provider or connection, method, path,
                                         status, durations, bytes, model, tokens, cost); N 1-10000,
                                         default 20
              logs --request-id ID       the usage record of one request

              vault rotate [--batch N]   re-seal every stored secret under the current master key, N rows per
                                         transaction (default 100); the old key goes in vault.previous_master_keys
                                         until it finishes (docs/vault.md)

            every command takes --config FILE (default: config/keyswap.yaml)
            """;
    private static final Set<String> SCOPES = Set.of(ApiKey.SCOPE_PROXY, ApiKey.SCOPE_READ, ApiKey.SCOPE_WRITE, ApiKey.SCOPE_ADMIN);

    /** Everything under the CLI belongs to the bootstrap admin actor until actors are managed. */
    static final String ADMIN_ACTOR = "act_admin";

    private final InputStream in;
    private final PrintStream out;
    private final PrintStream err;
    private final Map<String, String> env;

    public Cli(PrintStream out, PrintStream err, Map<String, String> env) {
        this(System.in, out, err, env);
    }

    /** @param in where secrets are read from: they never come from argv (shell history, ps) */
    public Cli(InputStream in, PrintStream out, PrintStream err, Map<String, String> env) {
        this.in = in;
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
                case "connections" -> connections(args);
                case "split-keys" -> splitKeys(args);
                case "logs" -> logs(args);
                case "cds-training" -> cdsTraining(args);
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

    /** The launcher's training run for its class-data archive; see {@link CdsTraining}. */
    private int cdsTraining(Args args) {
        args.allow("sqlite-lib-dir");
        args.positionals(1, "cds-training takes options only");
        String sqliteLibDir = args.options.get("sqlite-lib-dir");
        try {
            return new CdsTraining(err).run(sqliteLibDir == null ? null : Path.of(sqliteLibDir));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
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
                args.allow("config", "name", "scopes", "providers", "expires", "rpm", "no-server-keys", "connections");
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
                case "create" -> createKey(args, settings, keys, new TokenHasher(vaultKeys(db, masterKeys).tokenPepper()), db, masterKeys);
                case "list" -> listKeys(keys);
                default -> revokeKey(args, keys);
            };
        }
    }

    private int createKey(Args args, Settings settings, ApiKeyStore keys, TokenHasher hasher, Database db, List<MasterKey> masterKeys) {
        String name = args.options.get("name");
        if (name == null || name.isBlank()) {
            throw new UsageError("keys create needs --name");
        }
        Set<String> scopes = args.nonEmptyList("scopes", ApiKey.SCOPE_PROXY);
        for (String s : scopes) {
            if (!SCOPES.contains(s)) {
                throw new UsageError("unknown scope '" + s + "' (expected proxy, read, write, admin)");
            }
        }
        // Absent is every provider; given, each must be one, so a typo is not a token that
        // works nowhere, and an empty list (an unset variable) is not one that works everywhere.
        Set<String> providers = args.nonEmptyList("providers", "");
        for (String p : providers) {
            requireProvider(settings, p);
        }
        Integer rpm = args.wholeNumber("rpm", null, 1, Integer.MAX_VALUE, "--rpm must be a positive whole number");
        Instant now = Instant.now();
        Instant expires = args.options.containsKey("expires") ? expiry(args.options.get("expires"), now) : null;
        Set<String> connections = args.nonEmptyList("connections", "");
        if (!connections.isEmpty()) {
            requireConnections(new ConnectionStore(db, new Vault(masterKeys)), connections);
        }
        ApiKey key = new ApiKey(ApiKeyStore.newId(), ADMIN_ACTOR, name.trim(), scopes, providers,
                !args.flags.contains("no-server-keys"), rpm, expires, null, now, null, connections);
        String token = Keyswap.createKey(keys, hasher, key);
        out.println(token);
        err.println("keyswap: created " + key.id() + " (" + key.name() + "); the token above is shown only now");
        return 0;
    }

    private int listKeys(ApiKeyStore keys) {
        Instant now = Instant.now();
        for (ApiKey k : keys.list(null)) {
            String state = k.isRevoked() ? "revoked" : k.isExpiredAt(now) ? "expired" : "active";
            out.printf("%s\t%s\tscopes=%s\tproviders=%s\tconnections=%s\texpires=%s\trpm=%s\t%s%n", k.id(), k.name(),
                    String.join(",", new java.util.TreeSet<>(k.scopes())),
                    k.providers().isEmpty() ? "*" : String.join(",", new java.util.TreeSet<>(k.providers())),
                    k.connections().isEmpty() ? "-" : String.join(",", new java.util.TreeSet<>(k.connections())),
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

    private void requireConnections(ConnectionStore store, Set<String> ids) {
        for (String id : ids) {
            if (store.get(id).filter(c -> c.actorId().equals(ADMIN_ACTOR)).isEmpty()) {
                throw new IllegalArgumentException("--connections: no connection with id " + id);
            }
        }
    }

    // --- connections ---

    private int connections(Args args) {
        if (args.positional.size() < 2) {
            throw new UsageError("connections needs a subcommand: add, list or remove");
        }
        String sub = args.positional.get(1);
        switch (sub) {
            case "add" -> {
                args.allow("config", "name", "provider", "base-url", "auth", "auth-param", "header", "allow-path", "secret-env");
                args.positionals(2, "connections add takes options only (did you mean --name?)");
            }
            case "list" -> {
                args.allow("config");
                args.positionals(2, "connections list takes no arguments");
            }
            case "remove" -> {
                args.allow("config");
                args.positionals(3, "connections remove needs exactly one connection id");
            }
            default -> throw new UsageError("unknown connections subcommand '" + sub + "'");
        }
        // Parse everything the command line says before reading a secret or opening the database.
        Connection draft = "add".equals(sub) ? connectionFromArgs(args) : null;
        Settings settings = settings(args);
        if (draft != null && draft.baseUrl() != null) {
            refusePrivateUpstream(draft.baseUrl(), settings);
        }
        if (draft != null && draft.provider() != null) {
            requireProvider(settings, draft.provider());
        }
        List<String> secrets = draft == null || draft.authType() == AuthType.NONE ? List.of() : readSecrets(args, true);
        List<MasterKey> masterKeys = Keyswap.masterKeys(settings, env);
        try (Database db = Database.open(settings.storageUrl())) {
            Vault vault = new Vault(masterKeys);
            VaultKeys.open(db, vault, masterKeys.get(0));
            ConnectionStore store = new ConnectionStore(db, vault);
            return switch (sub) {
                case "add" -> {
                    store.create(draft, secrets);
                    out.println(draft.id());
                    err.println("keyswap: created " + draft.id() + " (" + draft.name() + ") with "
                            + secrets.size() + (secrets.size() == 1 ? " secret" : " secrets"));
                    yield 0;
                }
                case "list" -> listConnections(store);
                default -> {
                    String id = args.positional.get(2);
                    if (!store.delete(id, ADMIN_ACTOR)) {
                        err.println("keyswap: no connection with id " + id);
                        yield 1;
                    }
                    err.println("keyswap: removed " + id + " and its secrets");
                    yield 0;
                }
            };
        }
    }

    /**
     * The SSRF guard at creation, for a clear answer now: the data plane checks the resolved
     * address again at every connect, so a name that later resolves inward is refused there.
     */
    private static void refusePrivateUpstream(String baseUrl, Settings settings) {
        String host;
        try {
            host = UpstreamTarget.parse(baseUrl).host();
        } catch (IllegalArgumentException e) {
            return; // the store names what is wrong with the URL
        }
        AddressPolicy policy = new AddressPolicy(settings.upstream().allowPrivateAddresses());
        InetAddress[] addresses;
        try {
            addresses = InetAddress.getAllByName(host);
        } catch (UnknownHostException e) {
            return; // unresolvable now: judged at connect time
        }
        for (InetAddress a : addresses) {
            if (!policy.permits(a)) {
                throw new IllegalArgumentException("--base-url's host " + host + " resolves to " + a.getHostAddress()
                        + ", a loopback, private, link-local or reserved address (allow it in upstream.allow_private_addresses)");
            }
        }
    }

    private Connection connectionFromArgs(Args args) {
        String name = args.options.get("name");
        if (name == null || name.isBlank()) {
            throw new UsageError("connections add needs --name");
        }
        String provider = args.options.get("provider");
        String baseUrl = args.options.get("base-url");
        if (provider == null && baseUrl == null) {
            throw new UsageError("connections add needs --provider or --base-url");
        }
        String auth = args.options.get("auth");
        if (auth == null) {
            throw new UsageError("connections add needs --auth (bearer, api_key, basic, oauth2_token, query or none)");
        }
        AuthType type;
        try {
            type = AuthType.valueOf(auth.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new UsageError("unknown --auth '" + auth + "' (expected bearer, api_key, basic, oauth2_token, query or none)");
        }
        if (type == AuthType.NONE && args.options.containsKey("secret-env")) {
            throw new UsageError("--auth none takes no secret, so no --secret-env");
        }
        Map<String, String> headers = new LinkedHashMap<>();
        for (String h : args.all("header")) {
            int colon = h.indexOf(':');
            if (colon <= 0) {
                throw new UsageError("--header takes 'Name: value', got '" + h + "'");
            }
            String headerName = h.substring(0, colon).trim();
            if (headers.put(headerName, h.substring(colon + 1).trim()) != null) {
                throw new UsageError("--header '" + headerName + "' is given twice");
            }
        }
        return new Connection(ConnectionStore.newId(), ADMIN_ACTOR, name.trim(), provider, baseUrl, type,
                args.options.get("auth-param"), headers, args.all("allow-path"), Instant.ofEpochMilli(System.currentTimeMillis()));
    }

    private int listConnections(ConnectionStore store) {
        for (Connection c : store.list(null)) {
            String auth = c.authType().name().toLowerCase(Locale.ROOT) + (c.authParam() == null ? "" : ":" + c.authParam());
            out.printf("%s\t%s\tprovider=%s\tbase_url=%s\tauth=%s\tsecrets=%s\tpaths=%s\theaders=%s%n", c.id(), c.name(),
                    c.provider() == null ? "-" : c.provider(),
                    c.baseUrl() == null ? "-" : c.baseUrl(),
                    auth,
                    c.authType() == AuthType.NONE ? "-" : String.join(",", store.maskedSecrets(c)),
                    c.allowedPaths().isEmpty() ? "*" : String.join(",", c.allowedPaths()),
                    c.extraHeaders().isEmpty() ? "-" : String.join(",", new TreeSet<>(c.extraHeaders().keySet())));
        }
        return 0;
    }

    // --- split keys ---

    private int splitKeys(Args args) {
        if (args.positional.size() < 2) {
            throw new UsageError("split-keys needs a subcommand: create, list or revoke");
        }
        String sub = args.positional.get(1);
        switch (sub) {
            case "create" -> {
                args.allow("config", "provider", "secret-env");
                args.positionals(2, "split-keys create takes options only (did you mean --provider?)");
                if (args.options.get("provider") == null || args.options.get("provider").isBlank()) {
                    throw new UsageError("split-keys create needs --provider");
                }
            }
            case "list" -> {
                args.allow("config");
                args.positionals(2, "split-keys list takes no arguments");
            }
            case "revoke" -> {
                args.allow("config");
                args.positionals(3, "split-keys revoke needs exactly one split key id");
            }
            default -> throw new UsageError("unknown split-keys subcommand '" + sub + "'");
        }
        Settings settings = settings(args);
        String provider = args.options.get("provider");
        if (provider != null) {
            requireProvider(settings, provider.trim());
        }
        List<String> secrets = "create".equals(sub) ? readSecrets(args, false) : List.of();
        List<MasterKey> masterKeys = Keyswap.masterKeys(settings, env);
        try (Database db = Database.open(settings.storageUrl())) {
            Vault vault = new Vault(masterKeys);
            VaultKeys.open(db, vault, masterKeys.get(0));
            SplitKeyStore store = new SplitKeyStore(db, vault);
            return switch (sub) {
                case "create" -> {
                    byte[] key = secrets.get(0).getBytes(StandardCharsets.UTF_8);
                    SplitKeyStore.Created created;
                    try {
                        created = store.create(ADMIN_ACTOR, provider.trim(), key);
                    } finally {
                        Arrays.fill(key, (byte) 0);
                    }
                    out.println("key_id=" + created.key().id());
                    out.println("client_part=" + created.clientPart());
                    err.println("keyswap: created " + created.key().id() + "; the client part above is shown only now and"
                            + " Keyswap keeps no copy: send it as X-Partial-Key with X-Partial-Key-Id: " + created.key().id());
                    yield 0;
                }
                case "list" -> {
                    for (SplitKeyStore.SplitKey k : store.list(null)) {
                        out.printf("%s\tprovider=%s\tcreated=%s\t%s%n", k.id(), k.provider(), k.createdAt(),
                                k.revokedAt() == null ? "active" : "revoked");
                    }
                    yield 0;
                }
                default -> {
                    String id = args.positional.get(2);
                    if (store.get(id).filter(k -> k.actorId().equals(ADMIN_ACTOR)).isEmpty()) {
                        err.println("keyswap: no split key with id " + id);
                        yield 1;
                    }
                    err.println(store.revoke(id, ADMIN_ACTOR) ? "keyswap: revoked " + id : "keyswap: " + id + " was already revoked");
                    yield 0;
                }
            };
        }
    }

    /** Most records {@code logs} prints at once. */
    static final int MAX_LOG_LINES = 10_000;
    private static final com.fasterxml.jackson.databind.ObjectMapper JSON = new com.fasterxml.jackson.databind.ObjectMapper();

    /**
     * The request log as JSON lines, for scripts and for reading the log without an SQLite shell
     * new enough for the usage_records view (it unpacks JSONB, SQLite 3.45 or later; Keyswap
     * bundles its own).
     */
    private int logs(Args args) {
        args.allow("config", "limit", "request-id");
        args.positionals(1, "logs takes options only (--limit N or --request-id ID)");
        String requestId = args.options.get("request-id");
        if (requestId != null && args.options.containsKey("limit")) {
            throw new UsageError("logs takes --limit or --request-id, not both");
        }
        int limit = args.wholeNumber("limit", 20, 1, MAX_LOG_LINES, "--limit must be a whole number from 1 to " + MAX_LOG_LINES);
        Settings settings = settings(args);
        try (Database db = Database.open(settings.storageUrl())) {
            UsageStore usage = new UsageStore(db);
            if (requestId != null) {
                Optional<UsageRecord> record = usage.findByRequestId(requestId);
                if (record.isEmpty()) {
                    err.println("keyswap: no usage record for request " + requestId);
                    return 1;
                }
                out.println(logLine(record.get()));
                return 0;
            }
            for (UsageRecord r : usage.latest(limit)) {
                out.println(logLine(r));
            }
            return 0;
        }
    }

    private static String logLine(UsageRecord r) {
        Map<String, Object> line = new LinkedHashMap<>();
        line.put("time", r.time().toString());
        line.put("request_id", r.requestId());
        line.put("actor_id", r.actorId());
        line.put("token_id", r.tokenId());
        line.put("provider", r.provider());
        line.put("connection_id", r.connectionId());
        line.put("method", r.method());
        line.put("path", r.path());
        line.put("status", r.status());
        line.put("duration_us", r.durationMicros());
        line.put("upstream_us", r.upstreamMicros());
        line.put("bytes_in", r.bytesIn());
        line.put("bytes_out", r.bytesOut());
        line.put("model", r.model());
        line.put("input_tokens", r.inputTokens());
        line.put("output_tokens", r.outputTokens());
        line.put("cost_usd", r.costUsd());
        try {
            return JSON.writeValueAsString(line);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException("a usage record could not be written as JSON", e);
        }
    }

    /**
     * Secrets from $VAR (--secret-env) or stdin: one per non-blank line, surrounding whitespace
     * dropped (a trailing space or CR pasted along is never part of a key). Never echoed.
     */
    private List<String> readSecrets(Args args, boolean pool) {
        String var = args.options.get("secret-env");
        String source;
        String text;
        if (var != null) {
            source = "environment variable " + var;
            text = env.get(var);
            if (text == null) {
                throw new IllegalArgumentException(source + " is not set");
            }
        } else {
            source = "stdin";
            if (in == System.in && System.console() != null) {
                err.println("keyswap: reading the secret from stdin" + (pool ? " (one per line)" : "") + "; end with Ctrl-D");
            }
            text = readAll(in);
        }
        List<String> secrets = text.lines().map(String::strip).filter(l -> !l.isEmpty()).toList();
        if (secrets.isEmpty()) {
            throw new IllegalArgumentException("no secret on " + source);
        }
        if (!pool && secrets.size() > 1) {
            throw new IllegalArgumentException("expected one key on " + source + ", got " + secrets.size() + " lines");
        }
        return secrets;
    }

    private static String readAll(InputStream in) {
        try {
            BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
            StringBuilder sb = new StringBuilder();
            char[] buf = new char[4096];
            for (int n; (n = r.read(buf)) > 0; ) {
                sb.append(buf, 0, n);
            }
            return sb.toString();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read stdin", e);
        }
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
        int batch = args.wholeNumber("batch", 100, 1, Integer.MAX_VALUE, "--batch must be a positive whole number");
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

    /** The latest --expires taken: later ones are "never" said another way, and far later ones overflow the stored milliseconds. */
    static final Instant LATEST_EXPIRY = Instant.parse("9999-12-31T23:59:59Z");

    static Instant expiry(String value, Instant now) {
        Instant at = expiryAsGiven(value, now);
        if (at.isAfter(LATEST_EXPIRY)) {
            throw new UsageError("--expires must be before the year 10000 (leave it out for a token that does not expire)");
        }
        return at;
    }

    private static Instant expiryAsGiven(String value, Instant now) {
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

    private static void requireProvider(Settings settings, String provider) {
        if (settings.catalog().find(provider) == null) {
            throw new UsageError("unknown provider '" + provider + "' (not in the catalog or config)");
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
        /** Every value of every option in order, for the repeatable ones (--header, --allow-path). */
        final Map<String, List<String>> repeated = new HashMap<>();
        final Set<String> flags = new LinkedHashSet<>();

        static Args parse(String[] argv) {
            Args a = new Args();
            for (int i = 0; i < argv.length; i++) {
                String s = argv[i];
                if (s.startsWith("--") && s.length() > 2) {
                    String name = s.substring(2);
                    int eq = name.indexOf('=');
                    if (eq >= 0) {
                        a.put(name.substring(0, eq), name.substring(eq + 1));
                    } else if (FLAGS.contains(name) || name.equals("help")) {
                        a.flags.add(name);
                    } else {
                        // "--name --rpm 5" is a forgotten value, not a key named "--rpm".
                        if (i + 1 >= argv.length || argv[i + 1].startsWith("--")) {
                            throw new UsageError("--" + name + " needs a value");
                        }
                        a.put(name, argv[++i]);
                    }
                } else {
                    a.positional.add(s);
                }
            }
            return a;
        }

        private void put(String name, String value) {
            options.put(name, value);
            repeated.computeIfAbsent(name, k -> new ArrayList<>()).add(value);
        }

        List<String> all(String name) {
            return repeated.getOrDefault(name, List.of());
        }

        /**
         * A comma-separated option's entries, or {@code absent}'s when the option is not given.
         * Given, it must name something: {@code --providers ""} is a mistake, not "all of them".
         */
        Set<String> nonEmptyList(String name, String absent) {
            String value = options.get(name);
            if (value == null) {
                return list(absent);
            }
            Set<String> entries = list(value);
            if (entries.isEmpty()) {
                throw new UsageError("--" + name + " needs at least one name (leave it out for the default)");
            }
            return entries;
        }

        /** --{@code name} as a whole number from {@code min} to {@code max}, {@code absent} if not given; else {@code rule}. */
        Integer wholeNumber(String name, Integer absent, int min, int max, String rule) {
            String value = options.get(name);
            if (value == null) {
                return absent;
            }
            try {
                int n = Integer.parseInt(value);
                if (n >= min && n <= max) {
                    return n;
                }
            } catch (NumberFormatException e) {
                // refused below, like an out-of-range number
            }
            throw new UsageError(rule);
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
