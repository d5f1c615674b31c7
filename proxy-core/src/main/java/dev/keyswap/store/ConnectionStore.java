package dev.keyswap.store;

import static dev.keyswap.store.Jdbc.getInstant;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.keyswap.connect.AuthType;
import dev.keyswap.connect.Connection;
import dev.keyswap.connect.Credential;
import dev.keyswap.route.UpstreamTarget;
import dev.keyswap.vault.Sealed;
import dev.keyswap.vault.Vault;
import dev.keyswap.vault.VaultException;
import java.nio.charset.StandardCharsets;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Pattern;
import javax.sql.DataSource;

/** Blocking repository for connections and their sealed secrets; call it on the JDBC executor. */
public final class ConnectionStore {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final TypeReference<Map<String, String>> HEADERS = new TypeReference<>() { };
    private static final TypeReference<List<String>> PATHS = new TypeReference<>() { };

    /** RFC 9110 §5.6.2 token: what a header name may be. */
    private static final Pattern TOKEN = Pattern.compile("[!#$%&'*+.^_`|~0-9A-Za-z-]+");
    /** Unreserved URI characters (RFC 3986 §2.3): a query parameter name that never needs escaping. */
    private static final Pattern QUERY_PARAM = Pattern.compile("[A-Za-z0-9._~-]+");
    /** Provider names are a path segment of /{provider}/…. */
    private static final Pattern PROVIDER = Pattern.compile("[A-Za-z0-9._-]+");

    /**
     * Hop-by-hop (RFC 9110 §7.6.1) and framing fields, which the proxy owns on every hop, and the
     * fields Keyswap sets on every request itself. An extra header replaces a field of the same
     * name, so one of these would undo Keyswap's: {@code Accept-Encoding: gzip} in place of
     * {@code identity} (or {@code Sec-WebSocket-Extensions: permessage-deflate} on an upgrade)
     * left responses compressed and so unmetered, and {@code X-Forwarded-*} would misstate the
     * client.
     */
    private static final Set<String> PROXY_OWNED = Set.of("connection", "keep-alive", "proxy-connection", "te", "trailer",
            "transfer-encoding", "upgrade", "proxy-authorization", "proxy-authenticate", "host", "content-length",
            "accept-encoding", "x-forwarded-for", "x-forwarded-proto", "sec-websocket-key", "sec-websocket-version",
            "sec-websocket-protocol", "sec-websocket-extensions", "sec-websocket-accept");
    /** Where a credential goes (SPEC §1): only the connection's auth type may fill these. */
    private static final Set<String> CREDENTIAL_SLOTS = Set.of("authorization", "x-api-key", "x-goog-api-key", "api-key");

    private static final String COLUMNS = "id, actor_id, name, provider, base_url, auth_type, auth_param, extra_headers,"
            + " allowed_paths, created_at";

    private final DataSource ds;
    private final Vault vault;

    public ConnectionStore(Database db, Vault vault) {
        this.ds = db.dataSource();
        this.vault = Objects.requireNonNull(vault, "vault");
    }

    /** Stores the connection and its secrets (pool order as given), each sealed for its own row, in one transaction. */
    public void create(Connection connection, List<String> secrets) {
        validate(connection, secrets);
        String insertConnection = "INSERT INTO connections (" + COLUMNS + ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
        String insertSecret = "INSERT INTO connection_secrets (id, connection_id, actor_id, position, key_id, nonce, ciphertext,"
                + " created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)";
        Jdbc.inTransaction(ds, "creating connection " + connection.id(), c -> {
            try (PreparedStatement ps = c.prepareStatement("SELECT 1 FROM connections WHERE actor_id = ? AND name = ?")) {
                ps.setString(1, connection.actorId());
                ps.setString(2, connection.name());
                try (ResultSet rs = ps.executeQuery()) {
                    if (rs.next()) {
                        throw new IllegalArgumentException("name: a connection named '" + connection.name() + "' already exists");
                    }
                }
            }
            try (PreparedStatement ps = c.prepareStatement(insertConnection)) {
                ps.setString(1, connection.id());
                ps.setString(2, connection.actorId());
                ps.setString(3, connection.name());
                ps.setString(4, connection.provider());
                ps.setString(5, connection.baseUrl());
                ps.setString(6, connection.authType().name().toLowerCase(Locale.ROOT));
                ps.setString(7, connection.authParam());
                ps.setString(8, json(new TreeMap<>(connection.extraHeaders()))); // sorted: equal maps store equal text
                ps.setString(9, json(connection.allowedPaths()));
                ps.setLong(10, connection.createdAt().toEpochMilli());
                ps.executeUpdate();
            }
            try (PreparedStatement ps = c.prepareStatement(insertSecret)) {
                for (int i = 0; i < secrets.size(); i++) {
                    String rowId = secretRowId(connection.id());
                    Sealed sealed = vault.seal(connection.actorId(), rowId, secrets.get(i).getBytes(StandardCharsets.UTF_8));
                    ps.setString(1, rowId);
                    ps.setString(2, connection.id());
                    ps.setString(3, connection.actorId());
                    ps.setInt(4, i);
                    ps.setString(5, sealed.keyId());
                    ps.setBytes(6, sealed.nonce());
                    ps.setBytes(7, sealed.ciphertext());
                    ps.setLong(8, connection.createdAt().toEpochMilli());
                    ps.addBatch();
                }
                if (!secrets.isEmpty()) {
                    ps.executeBatch();
                }
            }
        });
    }

    public Optional<Connection> get(String id) {
        List<Connection> found = query("SELECT " + COLUMNS + " FROM connections WHERE id = ?", ps -> ps.setString(1, id),
                "loading connection " + id);
        return found.stream().findFirst();
    }

    /** Connections of one actor, or of all actors when actorId is null; oldest first. */
    public List<Connection> list(String actorId) {
        String sql = "SELECT " + COLUMNS + " FROM connections"
                + (actorId == null ? "" : " WHERE actor_id = ?")
                + " ORDER BY created_at, id";
        return query(sql, ps -> {
            if (actorId != null) {
                ps.setString(1, actorId);
            }
        }, "listing connections");
    }

    /** The actor's newest connection for a catalog provider. */
    public Optional<Connection> findForProvider(String actorId, String provider) {
        String sql = "SELECT " + COLUMNS + " FROM connections WHERE actor_id = ? AND provider = ?"
                + " ORDER BY created_at DESC, id DESC LIMIT 1";
        return query(sql, ps -> {
            ps.setString(1, actorId);
            ps.setString(2, provider);
        }, "finding the " + provider + " connection of " + actorId).stream().findFirst();
    }

    /**
     * The connection's secrets, opened, in pool order.
     * @throws dev.keyswap.vault.VaultException when any is tampered or moved
     */
    public List<String> openSecrets(Connection connection) {
        List<String> out = new ArrayList<>();
        for (SecretRow row : secretRows(connection.id())) {
            out.add(new String(open(connection, row), StandardCharsets.UTF_8));
        }
        return out;
    }

    /**
     * Masked secrets for display ("sk-p…a1b2"), in pool order. A secret that cannot be opened
     * shows as "(unreadable)" rather than failing the whole listing it is part of. A basic-auth
     * secret shows its user part masked and no part of its password ("sk_l…a1b2:…"): some APIs
     * take the key as the user, and the password's last characters are no one's business.
     */
    public List<String> maskedSecrets(Connection connection) {
        List<String> out = new ArrayList<>();
        for (SecretRow row : secretRows(connection.id())) {
            try {
                String secret = new String(open(connection, row), StandardCharsets.UTF_8);
                out.add(connection.authType() == AuthType.BASIC
                        ? Vault.mask(secret.substring(0, Math.max(0, secret.indexOf(':')))) + ":…"
                        : Vault.mask(secret));
            } catch (VaultException e) {
                out.add("(unreadable)");
            }
        }
        return out;
    }

    /** @return false when no such connection for that actor (null actor: any) */
    public boolean delete(String id, String actorId) {
        String owned = actorId == null ? "" : " AND actor_id = ?";
        boolean[] deleted = {false};
        Jdbc.inTransaction(ds, "deleting connection " + id, c -> {
            // Explicit, not only ON DELETE CASCADE: a connection opened without foreign_keys=ON
            // (a hand-made SQLite URL, a tool) would otherwise leave sealed secrets behind.
            try (PreparedStatement ps = c.prepareStatement("DELETE FROM connection_secrets WHERE connection_id IN"
                    + " (SELECT id FROM connections WHERE id = ?" + owned + ")")) {
                bindIdAndActor(ps, id, actorId);
                ps.executeUpdate();
            }
            try (PreparedStatement ps = c.prepareStatement("DELETE FROM connections WHERE id = ?" + owned)) {
                bindIdAndActor(ps, id, actorId);
                deleted[0] = ps.executeUpdate() == 1;
            }
        });
        return deleted[0];
    }

    /** "cn_" + 16 base62 characters. */
    public static String newId() {
        return Ids.random("cn_", 16);
    }

    /**
     * "cs_" + 16 base62 + "_" + the connection id. The vault binds a ciphertext to its row id, so
     * naming the connection inside the row id also binds it to the connection: a row re-pointed
     * at another connection of the same actor is refused by {@link #open}.
     */
    static String secretRowId(String connectionId) {
        return Ids.random("cs_", 16) + "_" + connectionId;
    }

    // --- validation ---

    /** @throws IllegalArgumentException naming the offending field, never quoting a secret */
    static void validate(Connection c, List<String> secrets) {
        require(c.id() != null && !c.id().isBlank(), "id: required");
        require(c.actorId() != null && !c.actorId().isBlank(), "actor_id: required");
        DisplayNames.check("name", c.name());
        require(c.authType() != null, "auth_type: required");
        require(c.createdAt() != null, "created_at: required");
        require(c.provider() != null || c.baseUrl() != null, "provider or base_url: at least one is required");
        if (c.provider() != null) {
            require(PROVIDER.matcher(c.provider()).matches(),
                    "provider: '" + c.provider() + "' is not a provider name (letters, digits, '.', '_', '-')");
        }
        if (c.baseUrl() != null) {
            UpstreamTarget.parse(c.baseUrl()); // its message names base_url
        }
        validateAuthParam(c.authType(), c.authParam());
        validateSecrets(c.authType(), secrets);
        validateExtraHeaders(c.extraHeaders(), c.authType() == AuthType.API_KEY ? c.authParam() : null);
        for (String p : c.allowedPaths()) {
            require(p != null && p.startsWith("/"), "allowed_paths: '" + p + "' must start with /");
            require(p.chars().noneMatch(ch -> ch <= ' ' || ch == 0x7f || ch == '?' || ch == '#' || ch == '\\'),
                    "allowed_paths: '" + p + "' may hold only a path (no spaces, control characters, ?, # or \\)");
            require(!(p + "/").contains("/../") && !(p + "/").contains("/./"),
                    "allowed_paths: '" + p + "' may not contain . or .. segments");
        }
    }

    private static void validateAuthParam(AuthType type, String param) {
        switch (type) {
            case API_KEY -> {
                require(param != null && TOKEN.matcher(param).matches(),
                        "auth_param: api_key needs the header name to send the secret in");
                require(!PROXY_OWNED.contains(param.toLowerCase(Locale.ROOT)),
                        "auth_param: '" + param + "' is a header the proxy sets itself");
            }
            case QUERY -> require(param != null && QUERY_PARAM.matcher(param).matches(),
                    "auth_param: query needs the parameter name to send the secret in (letters, digits, '.', '_', '~', '-')");
            default -> require(param == null, "auth_param: only api_key and query take one");
        }
    }

    private static void validateSecrets(AuthType type, List<String> secrets) {
        Objects.requireNonNull(secrets, "secrets");
        if (type == AuthType.NONE) {
            require(secrets.isEmpty(), "secret: auth type none takes no secret");
            return;
        }
        require(!secrets.isEmpty(), "secret: auth type " + type.name().toLowerCase(Locale.ROOT) + " needs at least one");
        for (int i = 0; i < secrets.size(); i++) {
            String s = secrets.get(i);
            String which = secrets.size() == 1 ? "secret" : "secret " + (i + 1);
            require(s != null && !s.isEmpty(), which + ": may not be empty");
            // CR/LF would split the header it is injected into; never quote the value itself.
            require(s.chars().noneMatch(ch -> ch < ' ' && ch != '\t' || ch == 0x7f),
                    which + ": may not contain control characters (a stray line break?)");
            // Basic and query credentials are encoded (base64, percent) and may hold any character.
            require(!inHeader(type) || s.chars().allMatch(Credential::sendableAsIs),
                    which + ": may hold only printable ASCII characters, as a header does (a byte order mark"
                            + " or a character pasted from a document?)");
            require(type != AuthType.BASIC || s.indexOf(':') >= 0, which + ": basic auth takes user:password");
        }
    }

    private static void validateExtraHeaders(Map<String, String> headers, String apiKeyHeader) {
        Set<String> seen = new HashSet<>();
        for (Map.Entry<String, String> e : headers.entrySet()) {
            String name = e.getKey();
            require(TOKEN.matcher(name).matches(), "extra_headers: '" + name + "' is not a valid header name");
            String lower = name.toLowerCase(Locale.ROOT);
            require(seen.add(lower), "extra_headers: '" + name + "' is given twice");
            require(!PROXY_OWNED.contains(lower), "extra_headers: '" + name + "' is a header the proxy sets itself");
            require(!CREDENTIAL_SLOTS.contains(lower) && !lower.equals(apiKeyHeader == null ? null : apiKeyHeader.toLowerCase(Locale.ROOT)),
                    "extra_headers: '" + name + "' is a credential slot; store credentials as the connection's secret");
            String value = e.getValue();
            require(value != null && value.chars().allMatch(ch -> ch == '\t' || Credential.sendableAsIs(ch)),
                    "extra_headers: the value of '" + name + "' may hold only printable ASCII characters"
                            + " (no control characters, no line breaks)");
        }
    }

    /** Whether the secret goes into a header as it is. */
    private static boolean inHeader(AuthType type) {
        return type == AuthType.BEARER || type == AuthType.OAUTH2_TOKEN || type == AuthType.API_KEY;
    }

    private static void require(boolean ok, String message) {
        if (!ok) {
            throw new IllegalArgumentException(message);
        }
    }

    // --- rows ---

    private record SecretRow(String id, String actorId, Sealed sealed) {
    }

    private byte[] open(Connection connection, SecretRow row) {
        // The vault binds actor and row id; these two checks bind the row to this connection and
        // its owner, so rows moved between connections or actors fail closed here.
        if (!row.id().endsWith("_" + connection.id()) || !row.actorId().equals(connection.actorId())) {
            throw new VaultException("secret " + row.id() + " does not belong to connection " + connection.id());
        }
        return vault.open(connection.actorId(), row.id(), row.sealed());
    }

    private List<SecretRow> secretRows(String connectionId) {
        String sql = "SELECT id, actor_id, key_id, nonce, ciphertext FROM connection_secrets WHERE connection_id = ?"
                + " ORDER BY position, id";
        try (java.sql.Connection c = ds.getConnection(); PreparedStatement ps = c.prepareStatement(sql)) {
            ps.setString(1, connectionId);
            List<SecretRow> rows = new ArrayList<>();
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    rows.add(new SecretRow(rs.getString("id"), rs.getString("actor_id"),
                            new Sealed(rs.getString("key_id"), rs.getBytes("nonce"), rs.getBytes("ciphertext"))));
                }
            }
            return rows;
        } catch (SQLException e) {
            throw new StoreException("loading the secrets of connection " + connectionId + " failed", e);
        }
    }

    @FunctionalInterface
    private interface Binder {
        void bind(PreparedStatement ps) throws SQLException;
    }

    private List<Connection> query(String sql, Binder binder, String what) {
        try (java.sql.Connection c = ds.getConnection(); PreparedStatement ps = c.prepareStatement(sql)) {
            binder.bind(ps);
            List<Connection> out = new ArrayList<>();
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(map(rs));
                }
            }
            return out;
        } catch (SQLException e) {
            throw new StoreException(what + " failed", e);
        }
    }

    private static void bindIdAndActor(PreparedStatement ps, String id, String actorId) throws SQLException {
        ps.setString(1, id);
        if (actorId != null) {
            ps.setString(2, actorId);
        }
    }

    private static Connection map(ResultSet rs) throws SQLException {
        String id = rs.getString("id");
        try {
            return new Connection(
                    id,
                    rs.getString("actor_id"),
                    rs.getString("name"),
                    rs.getString("provider"),
                    rs.getString("base_url"),
                    AuthType.valueOf(rs.getString("auth_type").toUpperCase(Locale.ROOT)),
                    rs.getString("auth_param"),
                    JSON.readValue(rs.getString("extra_headers"), HEADERS),
                    JSON.readValue(rs.getString("allowed_paths"), PATHS),
                    getInstant(rs, "created_at"));
        } catch (JsonProcessingException | IllegalArgumentException e) {
            throw new StoreException("connection " + id + " has a malformed stored field", e);
        }
    }

    private static String json(Object value) {
        try {
            return JSON.writeValueAsString(value);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot write JSON for a map or list of strings", e);
        }
    }
}
