package dev.keyswap.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.keyswap.connect.AuthType;
import dev.keyswap.connect.Connection;
import dev.keyswap.vault.MasterKey;
import dev.keyswap.vault.Vault;
import dev.keyswap.vault.VaultException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

class ConnectionStoreTest {
    private static final Instant T0 = Instant.ofEpochMilli(1_760_000_000_123L);
    private static final String SECRET = "sk-fake-SECRETvalue0123456789abcdef";

    @TempDir
    Path dir;
    private Database db;
    private ConnectionStore store;

    @BeforeEach
    void open() throws Exception {
        db = Database.open("jdbc:sqlite:" + dir.resolve("conn.db"));
        store = new ConnectionStore(db, vault(1));
        sql("INSERT INTO actors (id, name, created_at) VALUES ('act_bob', 'bob', 1)");
    }

    @AfterEach
    void close() {
        db.close();
    }

    static Vault vault(int seed) {
        byte[] raw = new byte[32];
        for (int i = 0; i < raw.length; i++) {
            raw[i] = (byte) (seed * 17 + i);
        }
        return new Vault(List.of(MasterKey.of(raw)));
    }

    private static Connection conn(String actor, String name, AuthType type, String param) {
        return new Connection(ConnectionStore.newId(), actor, name, null, "https://api.example.com/v2", type, param,
                Map.of(), List.of(), T0);
    }

    private static List<String> secretFor(AuthType type) {
        return switch (type) {
            case NONE -> List.of();
            case BASIC -> List.of("alice:" + SECRET);
            default -> List.of(SECRET);
        };
    }

    private static String paramFor(AuthType type) {
        return switch (type) {
            case API_KEY -> "X-Service-Key";
            case QUERY -> "api_key";
            default -> null;
        };
    }

    private void sql(String statement) throws Exception {
        try (java.sql.Connection c = db.dataSource().getConnection(); Statement st = c.createStatement()) {
            st.executeUpdate(statement);
        }
    }

    private long count(String table) throws Exception {
        try (java.sql.Connection c = db.dataSource().getConnection(); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT COUNT(*) FROM " + table)) {
            rs.next();
            return rs.getLong(1);
        }
    }

    // --- round trips ---

    @ParameterizedTest
    @EnumSource(AuthType.class)
    void everyAuthTypeRoundTripsWithItsSecret(AuthType type) {
        Connection c = conn("act_admin", "svc-" + type, type, paramFor(type));
        store.create(c, secretFor(type));
        Connection read = store.get(c.id()).orElseThrow();
        assertEquals(c, read);
        assertEquals(secretFor(type), store.openSecrets(read));
    }

    @Test
    void providerConnectionWithoutBaseUrlAndEveryJsonFieldRoundTrip() {
        Map<String, String> headers = new LinkedHashMap<>();
        headers.put("OpenAI-Organization", "org-123");
        headers.put("X-Trace", "a, b; c=\"d\" \\e\t{}"); // what JSON escapes; non-ASCII is refused
        Connection c = new Connection(ConnectionStore.newId(), "act_admin", "my openai", "openai", null,
                AuthType.BEARER, null, headers, List.of("/v1/chat/", "/v1/embeddings"), T0);
        store.create(c, List.of(SECRET));
        Connection read = store.get(c.id()).orElseThrow();
        assertEquals(c, read);
        assertEquals(headers, read.extraHeaders());
        assertEquals(List.of("/v1/chat/", "/v1/embeddings"), read.allowedPaths(), "order kept");
        assertEquals(null, read.baseUrl());
        assertEquals("openai", read.provider());
    }

    @Test
    void keyPoolOpensInTheOrderGiven() {
        List<String> pool = List.of("sk-third-000000000000", "sk-first-000000000000", "sk-second-00000000000");
        Connection c = conn("act_admin", "pool", AuthType.BEARER, null);
        store.create(c, pool);
        assertEquals(pool, store.openSecrets(c));
        assertEquals(pool.stream().map(Vault::mask).toList(), store.maskedSecrets(c));
    }

    @Test
    void maskedSecretsNeverHoldTheSecret() {
        Connection c = conn("act_admin", "masked", AuthType.BEARER, null);
        store.create(c, List.of(SECRET, "sk-other-secret-value-9999"));
        List<String> masked = store.maskedSecrets(c);
        assertEquals(List.of(Vault.mask(SECRET), Vault.mask("sk-other-secret-value-9999")), masked);
        for (String m : masked) {
            assertFalse(m.contains("SECRETvalue"), m);
            assertFalse(m.contains("secret-value"), m);
        }
    }

    @Test
    void eachSecretRowIsSealedUnderItsOwnIdWithItsOwnNonce() throws Exception {
        Connection c = conn("act_admin", "rows", AuthType.BEARER, null);
        store.create(c, List.of(SECRET, SECRET));
        Set<String> ids = new HashSet<>();
        List<String> nonces = new ArrayList<>();
        try (java.sql.Connection jc = db.dataSource().getConnection();
             PreparedStatement ps = jc.prepareStatement("SELECT id, actor_id, key_id, nonce FROM connection_secrets"
                     + " WHERE connection_id = ? ORDER BY position")) {
            ps.setString(1, c.id());
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    assertTrue(rs.getString("id").startsWith("cs_"), rs.getString("id"));
                    assertEquals("act_admin", rs.getString("actor_id"));
                    assertEquals(vault(1).currentKeyId(), rs.getString("key_id"));
                    ids.add(rs.getString("id"));
                    nonces.add(java.util.HexFormat.of().formatHex(rs.getBytes("nonce")));
                }
            }
        }
        assertEquals(2, ids.size());
        assertNotEquals(nonces.get(0), nonces.get(1));
    }

    // --- listing and actor scoping ---

    @Test
    void listIsScopedToTheActorOldestFirst() {
        Connection adminNew = new Connection("cn_c", "act_admin", "c", "openai", null, AuthType.BEARER, null, Map.of(), List.of(), T0.plusSeconds(20));
        Connection bob = new Connection("cn_b", "act_bob", "b", "openai", null, AuthType.BEARER, null, Map.of(), List.of(), T0);
        Connection adminOld = new Connection("cn_a", "act_admin", "a", "openai", null, AuthType.BEARER, null, Map.of(), List.of(), T0.plusSeconds(10));
        store.create(adminNew, List.of(SECRET));
        store.create(bob, List.of(SECRET));
        store.create(adminOld, List.of(SECRET));

        assertEquals(List.of(adminOld, adminNew), store.list("act_admin"));
        assertEquals(List.of(bob), store.list("act_bob"));
        assertEquals(List.of(bob, adminOld, adminNew), store.list(null));
        assertTrue(store.list("act_nobody").isEmpty());
    }

    @Test
    void findForProviderReturnsTheActorsNewestOnly() {
        Connection old = new Connection("cn_old", "act_admin", "old", "openai", null, AuthType.BEARER, null, Map.of(), List.of(), T0);
        Connection newer = new Connection("cn_new", "act_admin", "new", "openai", null, AuthType.BEARER, null, Map.of(), List.of(), T0.plusSeconds(5));
        Connection bobs = new Connection("cn_bob", "act_bob", "bobs", "openai", null, AuthType.BEARER, null, Map.of(), List.of(), T0.plusSeconds(9));
        Connection other = new Connection("cn_oth", "act_admin", "other", "anthropic", null, AuthType.API_KEY, "x-api-key", Map.of(), List.of(), T0.plusSeconds(9));
        for (Connection c : List.of(old, newer, bobs, other)) {
            store.create(c, List.of(SECRET));
        }
        assertEquals(newer, store.findForProvider("act_admin", "openai").orElseThrow());
        assertEquals(bobs, store.findForProvider("act_bob", "openai").orElseThrow());
        assertEquals(other, store.findForProvider("act_admin", "anthropic").orElseThrow());
        assertTrue(store.findForProvider("act_bob", "anthropic").isEmpty());
        assertTrue(store.findForProvider("act_admin", "gemini").isEmpty());
    }

    @Test
    void getFindsAnyActorsConnectionSoCallersMustCompareTheActor() {
        Connection bob = conn("act_bob", "bobs", AuthType.BEARER, null);
        store.create(bob, List.of(SECRET));
        assertEquals("act_bob", store.get(bob.id()).orElseThrow().actorId());
        assertTrue(store.get("cn_missing").isEmpty());
    }

    @Test
    void deleteIsScopedToTheActorAndCascadesToSecrets() throws Exception {
        Connection bob = conn("act_bob", "bobs", AuthType.BEARER, null);
        Connection admin = conn("act_admin", "admins", AuthType.BEARER, null);
        store.create(bob, List.of(SECRET, SECRET));
        store.create(admin, List.of(SECRET));
        assertEquals(3, count("connection_secrets"));

        assertFalse(store.delete(bob.id(), "act_admin"), "another actor's connection is not deleted");
        assertTrue(store.get(bob.id()).isPresent());
        assertEquals(3, count("connection_secrets"));

        assertTrue(store.delete(bob.id(), "act_bob"));
        assertTrue(store.get(bob.id()).isEmpty());
        assertEquals(1, count("connection_secrets"), "bob's secrets went with the connection");
        assertFalse(store.delete(bob.id(), "act_bob"), "already gone");

        assertTrue(store.delete(admin.id(), null), "a null actor deletes any");
        assertEquals(0, count("connection_secrets"));
        assertEquals(0, count("connections"));
    }

    @Test
    void onDeleteCascadeAloneRemovesSecrets() throws Exception {
        Connection c = conn("act_admin", "cascade", AuthType.BEARER, null);
        store.create(c, List.of(SECRET));
        sql("DELETE FROM connections WHERE id = '" + c.id() + "'");
        assertEquals(0, count("connection_secrets"));
    }

    @Test
    void sameNameIsRefusedForOneActorButAllowedForAnother() {
        store.create(conn("act_admin", "dup", AuthType.BEARER, null), List.of(SECRET));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> store.create(conn("act_admin", "dup", AuthType.BEARER, null), List.of(SECRET)));
        assertTrue(e.getMessage().startsWith("name:"), e.getMessage());
        store.create(conn("act_bob", "dup", AuthType.BEARER, null), List.of(SECRET));
        assertEquals(1, store.list("act_bob").size());
    }

    @Test
    void unknownActorIsRefusedByTheForeignKeyAndNothingIsLeft() throws Exception {
        assertThrows(StoreException.class, () -> store.create(conn("act_nobody", "x", AuthType.BEARER, null), List.of(SECRET)));
        assertEquals(0, count("connections"));
        assertEquals(0, count("connection_secrets"));
    }

    // --- sealing ---

    @Test
    void databaseFilesHoldNoSecretInPlainText() throws Exception {
        Connection c = conn("act_admin", "plain", AuthType.BEARER, null);
        store.create(c, List.of(SECRET, "second-pool-secret-XYZ987"));
        Connection q = conn("act_admin", "query", AuthType.QUERY, "key");
        store.create(q, List.of("query-secret-QQQ-123456"));
        db.close(); // checkpoints the WAL into the main file; both are scanned anyway
        db = Database.open("jdbc:sqlite:" + dir.resolve("conn.db"));
        List<byte[]> needles = Stream.of(SECRET, "second-pool-secret-XYZ987", "query-secret-QQQ-123456", "SECRETvalue")
                .map(s -> s.getBytes(StandardCharsets.UTF_8)).toList();
        try (Stream<Path> files = Files.list(dir)) {
            for (Path f : files.filter(p -> p.getFileName().toString().startsWith("conn.db")).toList()) {
                byte[] bytes = Files.readAllBytes(f);
                for (byte[] needle : needles) {
                    assertFalse(contains(bytes, needle), f + " contains a secret");
                }
            }
        }
        assertEquals(List.of(SECRET, "second-pool-secret-XYZ987"), new ConnectionStore(db, vault(1)).openSecrets(c));
    }

    @Test
    void tamperedCiphertextFailsClosedForThatConnectionOnly() throws Exception {
        Connection bad = conn("act_admin", "bad", AuthType.BEARER, null);
        Connection good = conn("act_admin", "good", AuthType.BEARER, null);
        store.create(bad, List.of(SECRET));
        store.create(good, List.of(SECRET));
        try (java.sql.Connection c = db.dataSource().getConnection();
             PreparedStatement ps = c.prepareStatement("UPDATE connection_secrets SET ciphertext = ? WHERE connection_id = ?")) {
            byte[] flipped = new byte[SECRET.length() + 16];
            ps.setBytes(1, flipped);
            ps.setString(2, bad.id());
            ps.executeUpdate();
        }
        VaultException e = assertThrows(VaultException.class, () -> store.openSecrets(bad));
        assertFalse(e.getMessage().contains(SECRET));
        assertEquals(List.of("(unreadable)"), store.maskedSecrets(bad), "listing still works");
        assertEquals(List.of(SECRET), store.openSecrets(good));
    }

    @Test
    void secretRowMovedToAnotherConnectionOfTheSameActorFails() throws Exception {
        Connection a = conn("act_admin", "a", AuthType.BEARER, null);
        Connection b = conn("act_admin", "b", AuthType.BEARER, null);
        store.create(a, List.of("secret-of-a-0000000000"));
        store.create(b, List.of("secret-of-b-0000000000"));
        sql("DELETE FROM connection_secrets WHERE connection_id = '" + b.id() + "'");
        sql("UPDATE connection_secrets SET connection_id = '" + b.id() + "' WHERE connection_id = '" + a.id() + "'");
        assertThrows(VaultException.class, () -> store.openSecrets(b));
    }

    @Test
    void secretRowMovedToAnotherActorFails() throws Exception {
        Connection a = conn("act_admin", "a", AuthType.BEARER, null);
        store.create(a, List.of(SECRET));
        sql("UPDATE connections SET actor_id = 'act_bob' WHERE id = '" + a.id() + "'");
        sql("UPDATE connection_secrets SET actor_id = 'act_bob' WHERE connection_id = '" + a.id() + "'");
        Connection moved = store.get(a.id()).orElseThrow();
        assertThrows(VaultException.class, () -> store.openSecrets(moved));
    }

    @Test
    void anotherMasterKeyCannotOpen() {
        Connection c = conn("act_admin", "mk", AuthType.BEARER, null);
        store.create(c, List.of(SECRET));
        assertThrows(VaultException.class, () -> new ConnectionStore(db, vault(2)).openSecrets(c));
    }

    // --- validation ---

    static Stream<Arguments> invalidConnections() {
        Connection ok = new Connection("cn_x", "act_admin", "x", null, "https://api.example.com", AuthType.BEARER, null,
                Map.of(), List.of(), T0);
        return Stream.of(
                Arguments.of(with(ok, "name", " "), List.of(SECRET), "name:"),
                Arguments.of(new Connection("cn_x", "act_admin", "x", null, null, AuthType.BEARER, null, Map.of(), List.of(), T0),
                        List.of(SECRET), "provider or base_url:"),
                Arguments.of(with(ok, "baseUrl", "ftp://example.com"), List.of(SECRET), "base_url"),
                Arguments.of(with(ok, "baseUrl", "https://user:pw@example.com"), List.of(SECRET), "base_url"),
                Arguments.of(with(ok, "baseUrl", "not a url"), List.of(SECRET), "base_url"),
                Arguments.of(with(ok, "provider", "open/ai"), List.of(SECRET), "provider:"),
                Arguments.of(with(ok, "authType", AuthType.API_KEY), List.of(SECRET), "auth_param:"),
                Arguments.of(with(with(ok, "authType", AuthType.API_KEY), "authParam", "Bad Header"), List.of(SECRET), "auth_param:"),
                Arguments.of(with(with(ok, "authType", AuthType.API_KEY), "authParam", "Host"), List.of(SECRET), "auth_param:"),
                Arguments.of(with(ok, "authType", AuthType.QUERY), List.of(SECRET), "auth_param:"),
                Arguments.of(with(with(ok, "authType", AuthType.QUERY), "authParam", "a&b"), List.of(SECRET), "auth_param:"),
                Arguments.of(with(ok, "authParam", "x-api-key"), List.of(SECRET), "auth_param:"),
                Arguments.of(with(ok, "authType", AuthType.NONE), List.of(SECRET), "secret:"),
                Arguments.of(ok, List.of(), "secret:"),
                Arguments.of(ok, List.of(""), "secret:"),
                Arguments.of(ok, List.of(SECRET, "line\r\nX-Injected: 1"), "secret 2:"),
                Arguments.of(with(ok, "authType", AuthType.BASIC), List.of("no-colon-here"), "secret:"),
                refusedHeader(ok, "Bad Name", "v"),
                refusedHeader(ok, "Authorization", "Bearer x"),
                refusedHeader(ok, "X-API-Key", "x"),
                refusedHeader(ok, "x-goog-api-key", "x"),
                refusedHeader(ok, "api-key", "x"),
                refusedHeader(ok, "Host", "evil.example"),
                refusedHeader(ok, "Transfer-Encoding", "chunked"),
                refusedHeader(ok, "Connection", "close"),
                refusedHeader(ok, "Upgrade", "websocket"),
                refusedHeader(ok, "Proxy-Authorization", "x"),
                Arguments.of(with(ok, "headers", Map.of("X-A", "a", "x-a", "b")), List.of(SECRET), "extra_headers:"),
                refusedHeader(ok, "X-A", "a\r\nX-B: b"),
                Arguments.of(with(with(with(ok, "authType", AuthType.API_KEY), "authParam", "X-Service-Key"),
                        "headers", Map.of("x-service-key", "other")), List.of(SECRET), "extra_headers:"),
                Arguments.of(with(ok, "paths", List.of("v1/chat")), List.of(SECRET), "allowed_paths:"),
                Arguments.of(with(ok, "paths", List.of("/v1/../admin")), List.of(SECRET), "allowed_paths:"),
                Arguments.of(with(ok, "paths", List.of("/v1/..")), List.of(SECRET), "allowed_paths:"),
                Arguments.of(with(ok, "paths", List.of("/v1?x=1")), List.of(SECRET), "allowed_paths:"),
                // Characters a header cannot carry: every request through the connection used to
                // hang unanswered (a key file saved with a byte order mark, a pasted zero-width space).
                Arguments.of(ok, List.of("\uFEFF" + SECRET), "secret:"),
                Arguments.of(ok, List.of(SECRET + "\u200B"), "secret:"),
                Arguments.of(with(with(ok, "authType", AuthType.API_KEY), "authParam", "X-Key"), List.of("caf\u00e9-" + SECRET), "secret:"),
                Arguments.of(with(ok, "authType", AuthType.OAUTH2_TOKEN), List.of(SECRET + "\u2014"), "secret:"),
                refusedHeader(ok, "X-Title", "My App \u2014 prod"),
                refusedHeader(ok, "X-Title", "Caf\u00e9"),
                // Fields Keyswap sets itself: gzip in place of identity left responses unmetered.
                refusedHeader(ok, "Accept-Encoding", "gzip"),
                refusedHeader(ok, "Sec-WebSocket-Extensions", "permessage-deflate"),
                refusedHeader(ok, "X-Forwarded-For", "10.0.0.1"),
                refusedHeader(ok, "x-forwarded-proto", "https"),
                Arguments.of(with(ok, "baseUrl", "http://127.0.0.1:70000"), List.of(SECRET), "base_url"),
                Arguments.of(with(ok, "baseUrl", "https://api.example.com:0/v1"), List.of(SECRET), "base_url"));
    }

    /** A connection whose one extra header is refused. */
    private static Arguments refusedHeader(Connection ok, String name, String value) {
        return Arguments.of(with(ok, "headers", Map.of(name, value)), List.of(SECRET), "extra_headers:");
    }

    @ParameterizedTest(name = "{2}")
    @MethodSource("invalidConnections")
    void invalidConnectionIsRefusedNamingTheFieldAndStoresNothing(Connection c, List<String> secrets, String field) throws Exception {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> store.create(c, secrets));
        assertTrue(e.getMessage().startsWith(field) || e.getMessage().contains(field), e.getMessage());
        assertFalse(e.getMessage().contains(SECRET), "the message quotes a secret: " + e.getMessage());
        assertEquals(0, count("connections"));
        assertEquals(0, count("connection_secrets"));
    }

    @Test
    void acceptableEdgeCases() {
        // http base URLs parse (the SSRF guard, not the store, decides what may be reached),
        // and API_KEY may put the secret in Authorization verbatim for "Authorization: Token x" APIs.
        store.create(new Connection(ConnectionStore.newId(), "act_admin", "http", null, "http://internal.example:8080/api",
                AuthType.API_KEY, "Authorization", Map.of("Cookie", "region=eu"), List.of("/", "/v1/"), T0), List.of("Token abc"));
        assertEquals(1, store.list("act_admin").size());
        // Basic and query credentials are encoded on the way out, so any character goes.
        store.create(new Connection(ConnectionStore.newId(), "act_admin", "basic", null, "https://api.example.com",
                AuthType.BASIC, null, Map.of(), List.of(), T0), List.of("andr\u00e9:p\u00e4ss word"));
        store.create(new Connection(ConnectionStore.newId(), "act_admin", "query", null, "https://api.example.com:65535",
                AuthType.QUERY, "key", Map.of(), List.of(), T0), List.of("k\u00e9y"));
        assertEquals(3, store.list("act_admin").size());
    }

    @Test
    void aBasicSecretShowsNoPartOfItsPassword() {
        Connection stripe = conn("act_admin", "stripe", AuthType.BASIC, null);
        store.create(stripe, List.of("sk_test_FAKE_NOT_A_REAL_KEY_0000:", "svc:Pa55w0rd!x"));
        assertEquals(List.of("sk_t…0000:…", "…:…"), store.maskedSecrets(stripe));
    }

    @Test
    void newIdsAreConnectionPrefixedBase62AndDistinct() {
        Set<String> ids = new HashSet<>();
        for (int i = 0; i < 1000; i++) {
            String id = ConnectionStore.newId();
            assertTrue(id.matches("cn_[0-9A-Za-z]{16}"), id);
            ids.add(id);
        }
        assertEquals(1000, ids.size());
    }

    private static Connection with(Connection c, String field, Object v) {
        return new Connection(c.id(), c.actorId(),
                field.equals("name") ? (String) v : c.name(),
                field.equals("provider") ? (String) v : c.provider(),
                field.equals("baseUrl") ? (String) v : c.baseUrl(),
                field.equals("authType") ? (AuthType) v : c.authType(),
                field.equals("authParam") ? (String) v : c.authParam(),
                field.equals("headers") ? castMap(v) : c.extraHeaders(),
                field.equals("paths") ? castList(v) : c.allowedPaths(),
                c.createdAt());
    }

    @SuppressWarnings("unchecked")
    private static Map<String, String> castMap(Object v) {
        return (Map<String, String>) v;
    }

    @SuppressWarnings("unchecked")
    private static List<String> castList(Object v) {
        return (List<String>) v;
    }

    /** Byte-exact: ISO-8859-1 maps each byte to one char and back. */
    static boolean contains(byte[] haystack, byte[] needle) {
        return new String(haystack, StandardCharsets.ISO_8859_1).contains(new String(needle, StandardCharsets.ISO_8859_1));
    }
}
