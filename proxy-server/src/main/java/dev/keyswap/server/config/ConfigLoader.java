package dev.keyswap.server.config;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.keyswap.connect.AddressPolicy;
import dev.keyswap.connect.Credential;
import dev.keyswap.route.CredentialSlot;
import dev.keyswap.route.Provider;
import dev.keyswap.route.ProviderCatalog;
import dev.keyswap.route.UpstreamTarget;
import dev.keyswap.server.ProxyServer;
import dev.keyswap.server.Transport;
import dev.keyswap.upstream.UpstreamConnector;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.yaml.snakeyaml.error.MarkedYAMLException;

/**
 * Reads the YAML config: {@code ${VAR}} and {@code ${VAR:-default}} substituted from the
 * environment in string values (after parsing, so a variable's value can never change the
 * document's structure), unknown keys refused by name, every value checked, defaults applied.
 */
public final class ConfigLoader {
    private static final Pattern VAR = Pattern.compile("\\$\\{([A-Za-z_][A-Za-z0-9_]*)(:-([^}]*))?}");
    private static final Pattern DUPLICATE = Pattern.compile("Duplicate field '([^']*)'.*", Pattern.DOTALL);
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory())
            .setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
            // A key given twice is a mistake whichever copy was meant; refuse rather than pick one.
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);

    private ConfigLoader() {
    }

    /** @param file the config file; when null or absent and {@code required} is false, all defaults */
    public static Settings load(Path file, boolean required, Map<String, String> env) {
        JsonNode tree;
        if (file != null && Files.isRegularFile(file)) {
            try {
                tree = YAML.readTree(file.toFile());
            } catch (JsonProcessingException e) {
                throw new ConfigException(file + ": " + syntaxError(e));
            } catch (IOException e) {
                throw new ConfigException(file + ": cannot be read: " + e.getMessage());
            }
        } else if (required) {
            throw new ConfigException("config file " + file + " does not exist");
        } else {
            tree = null;
        }
        if (tree == null || tree.isMissingNode() || tree.isNull()) {
            tree = YAML.createObjectNode();
        }
        if (!tree.isObject()) {
            throw new ConfigException(file + ": the top level must be a mapping of sections");
        }
        substitute(tree, env, "");
        KeyswapConfig raw;
        try {
            raw = YAML.treeToValue(tree, KeyswapConfig.class);
        } catch (UnrecognizedPropertyException e) {
            throw new ConfigException(where(file) + "unknown key '" + path(e) + "'");
        } catch (MismatchedInputException e) {
            // Jackson's own message quotes the offending value, which may be a server key.
            throw new ConfigException(where(file) + "key '" + path(e) + "' has the wrong type: expected " + expected(e.getTargetType()));
        } catch (JsonMappingException e) {
            throw new ConfigException(where(file) + "key '" + path(e) + "' has a value that cannot be used here");
        } catch (JsonProcessingException e) {
            throw new ConfigException(where(file) + "cannot be read as a Keyswap config");
        }
        return validate(raw);
    }

    private static String where(Path file) {
        return file == null ? "config: " : file + ": ";
    }

    /**
     * Where and what, without the excerpt of the offending line that SnakeYAML puts in its
     * message: that line may hold a server key.
     */
    private static String syntaxError(JsonProcessingException e) {
        if (e.getCause() instanceof MarkedYAMLException m && m.getProblemMark() != null) {
            return "not valid YAML at line " + (m.getProblemMark().getLine() + 1) + ", column "
                    + (m.getProblemMark().getColumn() + 1) + ": " + m.getProblem()
                    + (m.getContext() != null ? " (" + m.getContext() + ")" : "");
        }
        Matcher duplicate = DUPLICATE.matcher(e.getOriginalMessage() == null ? "" : e.getOriginalMessage());
        if (duplicate.matches()) {
            return "key '" + duplicate.group(1) + "' is given twice in one section (line "
                    + e.getLocation().getLineNr() + "); each key may appear only once";
        }
        return "not valid YAML" + (e.getLocation() != null ? " at line " + e.getLocation().getLineNr() : "");
    }

    private static String expected(Class<?> type) {
        if (type == null) {
            return "another type";
        }
        if (type == Integer.class || type == int.class || type == Long.class || type == long.class) {
            return "a whole number";
        }
        if (type == String.class) {
            return "a single value (text)";
        }
        if (List.class.isAssignableFrom(type)) {
            return "a list";
        }
        return "a mapping of keys (a section)";
    }

    private static String path(JsonMappingException e) {
        StringBuilder sb = new StringBuilder();
        for (var ref : e.getPath()) {
            if (sb.length() > 0) {
                sb.append('.');
            }
            sb.append(ref.getFieldName() != null ? ref.getFieldName() : "[" + ref.getIndex() + "]");
        }
        return sb.toString();
    }

    private static void substitute(JsonNode node, Map<String, String> env, String at) {
        if (node instanceof ObjectNode obj) {
            for (Iterator<Map.Entry<String, JsonNode>> it = obj.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                String key = at.isEmpty() ? e.getKey() : at + "." + e.getKey();
                if (e.getValue() instanceof TextNode t) {
                    e.setValue(new TextNode(expand(t.asText(), env, key)));
                } else {
                    substitute(e.getValue(), env, key);
                }
            }
        } else if (node instanceof ArrayNode arr) {
            for (int i = 0; i < arr.size(); i++) {
                if (arr.get(i) instanceof TextNode t) {
                    arr.set(i, new TextNode(expand(t.asText(), env, at + "[" + i + "]")));
                } else {
                    substitute(arr.get(i), env, at + "[" + i + "]");
                }
            }
        }
    }

    static String expand(String value, Map<String, String> env, String key) {
        Matcher m = VAR.matcher(value);
        StringBuilder out = new StringBuilder();
        while (m.find()) {
            String v = env.get(m.group(1));
            if (v == null || (v.isEmpty() && m.group(2) != null)) {
                if (m.group(2) == null) {
                    throw new ConfigException("key '" + key + "' uses ${" + m.group(1) + "}, which is not set (use ${"
                            + m.group(1) + ":-default} for a default)");
                }
                v = m.group(3);
            }
            m.appendReplacement(out, Matcher.quoteReplacement(v));
        }
        m.appendTail(out);
        return out.toString();
    }

    private static Settings validate(KeyswapConfig c) {
        KeyswapConfig.Server s = or(c.server(), new KeyswapConfig.Server(null, null, null, null, null, null, null, null, null, null));
        KeyswapConfig.Tls tls = or(s.tls(), new KeyswapConfig.Tls(null, null));
        KeyswapConfig.Websocket ws = or(c.websocket(), new KeyswapConfig.Websocket(null));
        KeyswapConfig.Storage st = or(c.storage(), new KeyswapConfig.Storage(null));
        KeyswapConfig.Vault v = or(c.vault(), new KeyswapConfig.Vault(null, null, null));
        KeyswapConfig.Auth a = or(c.auth(), new KeyswapConfig.Auth(null, null, null));
        KeyswapConfig.Cors co = or(c.cors(), new KeyswapConfig.Cors(null));
        KeyswapConfig.Upstream u = or(c.upstream(), new KeyswapConfig.Upstream(null, null, null, null, null, null, null, null));
        KeyswapConfig.Usage us = or(c.usage(), new KeyswapConfig.Usage(null, null, null, null));

        int port = range("server.port", or(s.port(), 8787), 0, 65535);
        int ioThreads = range("server.io_threads", or(s.ioThreads(), 0), 0, 1024);
        long maxBody = or(s.maxBodyBytes(), 0L);
        if (maxBody < 0) {
            throw new ConfigException("key 'server.max_body_bytes' must be 0 (no limit) or a positive number of bytes");
        }
        ProxyServer.Settings server = new ProxyServer.Settings(
                nonBlank("server.host", or(s.host(), "127.0.0.1")), port,
                oneOf("server.transport", or(s.transport(), "auto"), Transport.NAMES), ioThreads,
                new HashSet<>(nonBlankEntries("cors.allowed_origins", co.allowedOrigins())), maxBody,
                range("server.max_header_bytes", or(s.maxHeaderBytes(), 32768), 1024, 1 << 20),
                range("server.max_initial_line_bytes", or(s.maxInitialLineBytes(), 16384), 256, 1 << 20),
                positiveDuration("upstream.response_header_timeout", u.responseHeaderTimeout(), "300s"),
                positiveDuration("server.client_idle_timeout", s.clientIdleTimeout(), "75s"),
                existingFile("server.tls.cert_file", tls.certFile()), existingFile("server.tls.key_file", tls.keyFile()),
                range("websocket.max_per_token", or(ws.maxPerToken(), 64), 1, 1_000_000));
        if ((server.tlsCertFile() == null) != (server.tlsKeyFile() == null)) {
            throw new ConfigException("keys 'server.tls.cert_file' and 'server.tls.key_file' go together: set both or neither");
        }
        UpstreamConnector.Settings upstream = new UpstreamConnector.Settings(
                positiveDuration("upstream.connect_timeout", u.connectTimeout(), "10s"),
                positiveDuration("upstream.idle_timeout", u.idleTimeout(), "300s"),
                positiveDuration("upstream.pool_idle_timeout", u.poolIdleTimeout(), "20s"),
                range("upstream.max_idle_per_upstream", or(u.maxIdlePerUpstream(), 256), 0, 100_000),
                range("upstream.max_response_header_bytes", or(u.maxResponseHeaderBytes(), 65536), 1024, 1 << 20),
                blankToNull(u.trustCertFile()),
                addresses("upstream.allow_private_addresses", u.allowPrivateAddresses()));
        String url = nonBlank("storage.url", or(st.url(), "jdbc:sqlite:data/keyswap.db"));
        if (!url.startsWith("jdbc:sqlite:") && !url.startsWith("jdbc:postgresql:")) {
            throw new ConfigException("key 'storage.url' must be a jdbc:sqlite: or jdbc:postgresql: URL");
        }
        return new Settings(server, upstream, catalog(c.providers()), url, blankToNull(v.masterKey()),
                Path.of(or(blankToNull(v.masterKeyFile()), "data/master.key")), previousMasterKeys(v.previousMasterKeys()),
                blankToNull(a.adminToken()),
                duration("auth.token_cache_ttl", a.tokenCacheTtl(), "5s"),
                duration("auth.negative_cache_ttl", a.negativeCacheTtl(), "1s"),
                duration("server.drain_timeout", s.drainTimeout(), "30s"),
                range("usage.queue_capacity", or(us.queueCapacity(), 65536), 16, 10_000_000),
                // 2048, not 500: the writer's CPU per record fell from 5.1 to 3.8–4.0 µs under load
                // (proxy-bench/cpu-profile.sh, usage writer thread); what a transaction costs
                // beyond its rows is paid four times less often. 2048 rows are a few ms of writing.
                range("usage.batch_size", or(us.batchSize(), 2048), 1, 100_000),
                positiveDuration("usage.flush_interval", us.flushInterval(), "1s"),
                existingFile("usage.prices_file", us.pricesFile()));
    }

    /**
     * Checked here so a typo stops the start, not the first request for an old secret. Blank
     * entries are dropped, so {@code ${OLD_MASTER_KEY:-}} can stay in a template. Messages name
     * the entry ({@code vault.previous_master_keys[1]}), never its value.
     */
    private static List<String> previousMasterKeys(List<String> values) {
        List<String> keys = new java.util.ArrayList<>();
        List<String> given = or(values, List.of());
        for (int i = 0; i < given.size(); i++) {
            String v = blankToNull(given.get(i));
            if (v == null) {
                continue;
            }
            try {
                dev.keyswap.vault.MasterKey.parse("vault.previous_master_keys[" + i + "]", v);
            } catch (IllegalArgumentException e) {
                throw new ConfigException("key " + e.getMessage());
            }
            keys.add(v);
        }
        return List.copyOf(keys);
    }

    private static ProviderCatalog catalog(Map<String, KeyswapConfig.ProviderEntry> configured) {
        Map<String, Provider> providers = new LinkedHashMap<>();
        Map<String, KeyswapConfig.ProviderEntry> entries = or(configured, Map.of());
        for (Map.Entry<String, ProviderCatalog.Builtin> b : ProviderCatalog.BUILTINS.entrySet()) {
            KeyswapConfig.ProviderEntry e = entries.get(b.getKey());
            String baseUrl = e != null && blankToNull(e.baseUrl()) != null ? e.baseUrl() : b.getValue().baseUrl();
            if (baseUrl == null) {
                continue;
            }
            providers.put(b.getKey(), provider(b.getKey(), baseUrl, e, b.getValue().slot()));
        }
        for (Map.Entry<String, KeyswapConfig.ProviderEntry> e : entries.entrySet()) {
            String name = e.getKey();
            if (ProviderCatalog.BUILTINS.containsKey(name)) {
                continue;
            }
            if (!name.matches("[a-z0-9][a-z0-9._-]{0,62}") || ProviderCatalog.RESERVED.contains(name)) {
                throw new ConfigException("key 'providers." + name + "': a provider name is lower-case letters, digits, '.', '_' or '-' and not one of " + ProviderCatalog.RESERVED);
            }
            KeyswapConfig.ProviderEntry entry = e.getValue();
            if (entry == null || blankToNull(entry.baseUrl()) == null) {
                throw new ConfigException("key 'providers." + name + ".base_url' is required for a provider not in the built-in catalog");
            }
            providers.put(name, provider(name, entry.baseUrl(), entry, CredentialSlot.BEARER));
        }
        return new ProviderCatalog(providers);
    }

    private static Provider provider(String name, String baseUrl, KeyswapConfig.ProviderEntry e, CredentialSlot defaultSlot) {
        UpstreamTarget target;
        CredentialSlot slot = defaultSlot;
        try {
            target = UpstreamTarget.parse(baseUrl);
        } catch (IllegalArgumentException ex) {
            throw new ConfigException("key 'providers." + name + ".base_url': " + ex.getMessage());
        }
        if (e != null && blankToNull(e.slot()) != null) {
            try {
                slot = CredentialSlot.parse(e.slot());
            } catch (IllegalArgumentException ex) {
                throw new ConfigException("key 'providers." + name + ".slot': " + ex.getMessage());
            }
        }
        String apiKey = e == null ? null : blankToNull(e.apiKey());
        if (apiKey != null && !apiKey.chars().allMatch(Credential::sendableAsIs)) {
            // It goes into a header (or the query) as it is: every request would fail. Never quote it.
            throw new ConfigException("key 'providers." + name + ".api_key': may hold only printable ASCII characters"
                    + " (a line break, a byte order mark or a character pasted from a document?)");
        }
        return new Provider(name, target, slot, apiKey);
    }

    /**
     * The longest duration any key takes. Beyond it a value is a mistake or a way of saying
     * "forever", and far enough beyond (about 292 years) it no longer fits the nanoseconds the
     * timers count in: a drain timeout that overflowed there skipped the usage log's flush.
     */
    static final Duration LONGEST = Duration.ofDays(365);

    /** "250ms", "5s", "2m", "1h", "1d"; zero allowed (a cache that keeps nothing, a drain that waits for nothing). */
    static Duration duration(String key, String value, String defaultValue) {
        String v = blankToNull(value) == null ? defaultValue : value.trim();
        Matcher m = Pattern.compile("(\\d{1,9})(ms|s|m|h|d)").matcher(v);
        if (!m.matches()) {
            throw new ConfigException("key '" + key + "' must be a duration like 250ms, 30s, 5m, 1h (got '" + v + "')");
        }
        long n = Long.parseLong(m.group(1));
        Duration d = switch (m.group(2)) {
            case "ms" -> Duration.ofMillis(n);
            case "s" -> Duration.ofSeconds(n);
            case "m" -> Duration.ofMinutes(n);
            case "h" -> Duration.ofHours(n);
            default -> Duration.ofDays(n);
        };
        if (d.compareTo(LONGEST) > 0) {
            throw new ConfigException("key '" + key + "' must be at most " + LONGEST.toDays() + "d (got '" + v + "')");
        }
        return d;
    }

    /** A duration that must be more than zero: a timeout, or the usage log's flush interval. */
    static Duration positiveDuration(String key, String value, String defaultValue) {
        Duration d = duration(key, value, defaultValue);
        if (d.isZero()) {
            throw new ConfigException("key '" + key + "' must be more than zero (got '" + value.trim() + "')");
        }
        return d;
    }

    /**
     * A list whose every entry is text: an empty YAML item ({@code -} alone, {@code [~]}) is a
     * mistake to name here, not a null for the server to trip over on every connection.
     */
    private static List<String> nonBlankEntries(String key, List<String> values) {
        List<String> given = or(values, List.of());
        for (int i = 0; i < given.size(); i++) {
            if (blankToNull(given.get(i)) == null) {
                throw new ConfigException("key '" + key + "[" + i + "]' is empty");
            }
        }
        return given;
    }

    private static List<String> addresses(String key, List<String> values) {
        List<String> given = nonBlankEntries(key, values);
        try {
            new AddressPolicy(given);
        } catch (IllegalArgumentException e) {
            throw new ConfigException("key '" + key + "': " + e.getMessage());
        }
        return List.copyOf(given);
    }

    private static Path existingFile(String key, String value) {
        String v = blankToNull(value);
        if (v == null) {
            return null;
        }
        Path p = Path.of(v);
        if (!Files.isRegularFile(p) || !Files.isReadable(p)) {
            throw new ConfigException("key '" + key + "': file " + v + " does not exist or cannot be read");
        }
        return p;
    }

    private static int range(String key, int value, int min, int max) {
        if (value < min || value > max) {
            throw new ConfigException("key '" + key + "' must be between " + min + " and " + max + " (got " + value + ")");
        }
        return value;
    }

    private static String oneOf(String key, String value, List<String> allowed) {
        if (!allowed.contains(value)) {
            throw new ConfigException("key '" + key + "' must be one of " + String.join(", ", allowed) + " (got '" + value + "')");
        }
        return value;
    }

    private static String nonBlank(String key, String value) {
        if (value.isBlank()) {
            throw new ConfigException("key '" + key + "' must not be empty");
        }
        return value.trim();
    }

    private static String blankToNull(String s) {
        return s == null || s.isBlank() ? null : s.trim();
    }

    private static <T> T or(T value, T fallback) {
        return value == null ? fallback : value;
    }
}
