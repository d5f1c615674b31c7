package dev.keyswap.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.keyswap.auth.ApiKey;
import dev.keyswap.connect.AuthType;
import dev.keyswap.connect.Connection;
import dev.keyswap.store.ApiKeyStore;
import dev.keyswap.store.ConnectionStore;
import dev.keyswap.store.SplitKeyStore;
import dev.keyswap.vault.Sealed;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.PreparedStatement;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import okhttp3.mockwebserver.Dispatcher;
import okhttp3.mockwebserver.MockResponse;
import okhttp3.mockwebserver.MockWebServer;
import okhttp3.mockwebserver.RecordedRequest;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Stored credentials end to end: /proxy/{connection} for any API with every auth type, tenant
 * keys for /{provider}, actor isolation, path rules, BYOK split keys, key pools, tamper
 * detection. The mock upstream is on 127.0.0.1, which the operator allows here explicitly.
 */
class ConnectionsTest {
    static final String SERVER_KEY = "sk-test-server-openai-000000";
    @TempDir
    static Path dir;
    static MockWebServer upstream;
    static TestKeyswap keyswap;
    static String base;
    static final HttpClient http = HttpClient.newHttpClient();

    @BeforeAll
    static void start() throws Exception {
        upstream = new MockWebServer();
        upstream.setDispatcher(new Dispatcher() {
            @Override
            public MockResponse dispatch(RecordedRequest request) {
                String auth = request.getHeader("Authorization");
                if ("Bearer pool-secret-tired-1111".equals(auth)) {
                    return new MockResponse().setResponseCode(429).addHeader("Retry-After", "60").setBody("{\"error\":\"slow down\"}");
                }
                return new MockResponse().setBody("{\"ok\":true}").addHeader("Content-Type", "application/json");
            }
        });
        upstream.start();
        base = "http://127.0.0.1:" + upstream.getPort();
        keyswap = TestKeyswap.start(dir, TestKeyswap.merge("upstream:\n  allow_private_addresses: [127.0.0.1]\n",
                TestKeyswap.providers(TestKeyswap.map("openai", base, "anthropic", base), TestKeyswap.map("openai", SERVER_KEY))));
        actor("act_other");
    }

    @AfterAll
    static void stop() throws Exception {
        keyswap.close();
        upstream.shutdown();
    }

    @BeforeEach
    void drainRecorded() throws InterruptedException {
        while (upstream.takeRequest(1, TimeUnit.MILLISECONDS) != null) {
            // earlier tests' leftovers
        }
    }

    static void actor(String id) throws Exception {
        try (var c = keyswap.keyswap.database().dataSource().getConnection();
             PreparedStatement ps = c.prepareStatement("INSERT INTO actors (id, name, created_at) VALUES (?, ?, 0)")) {
            ps.setString(1, id);
            ps.setString(2, id);
            ps.executeUpdate();
        }
    }

    static ConnectionStore connections() {
        return keyswap.keyswap.connections();
    }

    static Connection connection(String actor, String name, String provider, String baseUrl, AuthType type, String param,
                                 Map<String, String> headers, List<String> paths, String... secrets) {
        Connection c = new Connection(ConnectionStore.newId(), actor, name, provider, baseUrl, type, param, headers, paths, Instant.now());
        connections().create(c, List.of(secrets));
        return c;
    }

    static String token(String actor, Set<String> connectionIds, boolean serverKeys) {
        ApiKey key = new ApiKey(ApiKeyStore.newId(), actor, "t", Set.of(ApiKey.SCOPE_PROXY), Set.of(), serverKeys, null, null,
                null, Instant.now(), null, connectionIds);
        return keyswap.token(key);
    }

    static HttpResponse<String> get(String path, String token, String... headers) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(keyswap.baseUrl() + path)).header("Authorization", "Bearer " + token);
        for (int i = 0; i < headers.length; i += 2) {
            b.header(headers[i], headers[i + 1]);
        }
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    static RecordedRequest recorded() throws InterruptedException {
        RecordedRequest r = upstream.takeRequest(5, TimeUnit.SECONDS);
        assertNotNull(r, "the upstream saw nothing");
        return r;
    }

    @Test
    void everyAuthTypeReachesTheUpstreamAsThatApiExpects() throws Exception {
        Map<String, String> extra = Map.of("X-Tenant", "acme", "Accept-Version", "2");
        Connection bearer = connection("act_admin", "bearer", null, base + "/api", AuthType.BEARER, null, extra, List.of(), "secret-bearer-000000");
        Connection apiKey = connection("act_admin", "apikey", null, base, AuthType.API_KEY, "X-Custom-Key", Map.of(), List.of(), "secret-header-000000");
        Connection basic = connection("act_admin", "basic", null, base, AuthType.BASIC, null, Map.of(), List.of(), "user:p4ss-word");
        Connection oauth = connection("act_admin", "oauth", null, base, AuthType.OAUTH2_TOKEN, null, Map.of(), List.of(), "ya29.oauth-token");
        Connection query = connection("act_admin", "query", null, base, AuthType.QUERY, "apikey", Map.of(), List.of(), "secret query&=");
        Connection none = connection("act_admin", "none", null, base, AuthType.NONE, null, Map.of(), List.of());
        String token = token("act_admin", Set.of(bearer.id(), apiKey.id(), basic.id(), oauth.id(), query.id(), none.id()), false);

        assertEquals(200, get("/proxy/" + bearer.id() + "/v2/items?page=2", token).statusCode());
        RecordedRequest r = recorded();
        assertEquals("/api/v2/items?page=2", r.getPath());
        assertEquals("Bearer secret-bearer-000000", r.getHeader("Authorization"));
        assertEquals("acme", r.getHeader("X-Tenant"));
        assertEquals("2", r.getHeader("Accept-Version"));

        get("/proxy/" + apiKey.id() + "/x", token);
        r = recorded();
        assertEquals("secret-header-000000", r.getHeader("X-Custom-Key"));
        assertNull(r.getHeader("Authorization"));

        get("/proxy/" + basic.id() + "/x", token);
        assertEquals("Basic " + Base64.getEncoder().encodeToString("user:p4ss-word".getBytes(StandardCharsets.UTF_8)),
                recorded().getHeader("Authorization"));

        get("/proxy/" + oauth.id() + "/x", token);
        assertEquals("Bearer ya29.oauth-token", recorded().getHeader("Authorization"));

        get("/proxy/" + query.id() + "/search?q=1", token);
        r = recorded();
        assertEquals("secret query&=", r.getRequestUrl().queryParameter("apikey"));
        assertEquals("1", r.getRequestUrl().queryParameter("q"));
        // The client's own value for the credential's parameter, as written or percent-encoded,
        // does not go along beside the secret.
        get("/proxy/" + query.id() + "/search?apikey=mine&q=1&a%70ikey=mine-too", token);
        r = recorded();
        assertEquals(List.of("secret query&="), r.getRequestUrl().queryParameterValues("apikey"));
        assertEquals("1", r.getRequestUrl().queryParameter("q"));
        assertFalse(r.getPath().contains("mine"), r.getPath());
        assertNull(r.getHeader("Authorization"));

        get("/proxy/" + none.id() + "/open", token);
        r = recorded();
        assertNull(r.getHeader("Authorization"));
        assertFalse(r.getHeaders().toString().contains(token));
    }

    @Test
    void anotherActorsConnectionIsA404AndAnUnlistedOneA403() throws Exception {
        Connection theirs = connection("act_other", "theirs", null, base, AuthType.BEARER, null, Map.of(), List.of(), "their-secret-0000000");
        Connection mine = connection("act_admin", "mine", null, base, AuthType.BEARER, null, Map.of(), List.of(), "my-secret-000000000");
        String token = token("act_admin", Set.of(theirs.id()), false);
        HttpResponse<String> r = get("/proxy/" + theirs.id() + "/x", token);
        assertEquals(404, r.statusCode());
        assertTrue(r.body().contains("\"code\":\"unknown_connection\""));
        assertEquals(404, get("/proxy/cn_doesnotexist000/x", token).statusCode());
        r = get("/proxy/" + mine.id() + "/x", token);
        assertEquals(403, r.statusCode());
        assertTrue(r.body().contains("\"code\":\"connection_not_allowed\""));
        assertNull(upstream.takeRequest(100, TimeUnit.MILLISECONDS), "nothing may reach the upstream");
    }

    @Test
    void allowedPathPrefixesAreEnforcedBySegment() throws Exception {
        Connection c = connection("act_admin", "paths", null, base, AuthType.BEARER, null, Map.of(), List.of("/v1/chat"), "path-secret-000000");
        String token = token("act_admin", Set.of(c.id()), false);
        assertEquals(200, get("/proxy/" + c.id() + "/v1/chat/completions", token).statusCode());
        recorded();
        HttpResponse<String> r = get("/proxy/" + c.id() + "/v1/chatty", token);
        assertEquals(403, r.statusCode());
        assertTrue(r.body().contains("\"code\":\"path_not_allowed\""));
        assertEquals(400, get("/proxy/" + c.id() + "/v1/chat/../admin", token).statusCode(), "dot segments never reach routing");

        // The same rules when the connection serves a provider route.
        Connection forProvider = connection("act_admin", "anthropic-paths", "anthropic", null, AuthType.API_KEY, "x-api-key",
                Map.of(), List.of("/v1/messages"), "sk-ant-paths-000000");
        String viaProvider = token("act_admin", Set.of(forProvider.id()), false);
        assertEquals(200, get("/anthropic/v1/messages", viaProvider).statusCode());
        assertEquals("sk-ant-paths-000000", recorded().getHeader("x-api-key"));
        assertEquals(403, get("/anthropic/v1/files", viaProvider).statusCode());
    }

    @Test
    void providerRequestsPreferTheTokensConnectionThenTheActorsThenTheServerKey() throws Exception {
        String plain = token("act_other", Set.of(), true);
        assertEquals(200, get("/openai/v1/models", plain).statusCode());
        assertEquals("Bearer " + SERVER_KEY, recorded().getHeader("Authorization"));

        connection("act_other", "actor-openai", "openai", null, AuthType.BEARER, null, Map.of(), List.of(), "sk-actor-key-000000000");
        Thread.sleep(5_200); // the connection lookup cache's bound
        assertEquals(200, get("/openai/v1/models", plain).statusCode());
        assertEquals("Bearer sk-actor-key-000000000", recorded().getHeader("Authorization"));

        Connection own = connection("act_other", "token-openai", "openai", null, AuthType.BEARER, null, Map.of(), List.of(), "sk-token-key-000000000");
        String withOwn = token("act_other", Set.of(own.id()), true);
        assertEquals(200, get("/openai/v1/models", withOwn).statusCode());
        assertEquals("Bearer sk-token-key-000000000", recorded().getHeader("Authorization"));
    }

    @Test
    void aTokenWithTwoConnectionsForAProviderUsesTheNewestThatAllowsThePath() throws Exception {
        // The grants are a set whose order changes with every start: the first of it was taken,
        // so which connection served a path (or refused it) flipped between restarts.
        Connection general = connection("act_admin", "anthropic-general", "anthropic", null, AuthType.BEARER, null, Map.of(),
                List.of(), "sk-ant-general-000000000");
        Thread.sleep(5); // created_at in milliseconds orders the two
        Connection models = connection("act_admin", "anthropic-models", "anthropic", null, AuthType.BEARER, null, Map.of(),
                List.of("/v1/models"), "sk-ant-models-0000000000");
        String token = token("act_admin", Set.of(general.id(), models.id()), false);
        assertEquals(200, get("/anthropic/v1/messages", token).statusCode(), "the newest refuses the path; the other takes it");
        assertEquals("sk-ant-general-000000000", credentialSeen(recorded()));
        assertEquals(200, get("/anthropic/v1/models", token).statusCode());
        assertEquals("sk-ant-models-0000000000", credentialSeen(recorded()), "the newest that allows the path");

        String onlyModels = token("act_admin", Set.of(models.id()), true);
        HttpResponse<String> r = get("/anthropic/v1/messages", onlyModels);
        assertEquals(403, r.statusCode(), "the token's connections refuse: no fallback to the server key");
        assertTrue(r.body().contains("\"code\":\"path_not_allowed\""), r.body());
    }

    /** The credential as the upstream saw it, in whichever slot the provider takes it. */
    private static String credentialSeen(RecordedRequest r) {
        String apiKey = r.getHeader("x-api-key");
        if (apiKey != null) {
            return apiKey;
        }
        String auth = r.getHeader("Authorization");
        return auth == null ? null : auth.replaceFirst("^Bearer ", "");
    }

    @Test
    void splitKeyWorksOnlyWithItsClientPartAndBothPartsStayHome() throws Exception {
        SplitKeyStore.Created created = keyswap.keyswap.splitKeys().create("act_admin", "anthropic",
                "sk-fake-split-provider-key-0000".getBytes(StandardCharsets.UTF_8));
        String token = token("act_admin", Set.of(), false);
        HttpResponse<String> ok = get("/anthropic/v1/messages", token, "X-Partial-Key-Id", created.key().id(), "X-Partial-Key", created.clientPart());
        assertEquals(200, ok.statusCode(), ok.body());
        RecordedRequest r = recorded();
        assertEquals("sk-fake-split-provider-key-0000", r.getHeader("x-api-key"));
        assertNull(r.getHeader("X-Partial-Key-Id"));
        assertNull(r.getHeader("X-Partial-Key"));
        String wrongPart = Base64.getUrlEncoder().withoutPadding().encodeToString(new byte[32]);
        HttpResponse<String> bad = get("/anthropic/v1/messages", token, "X-Partial-Key-Id", created.key().id(), "X-Partial-Key", wrongPart);
        assertEquals(400, bad.statusCode());
        assertTrue(bad.body().contains("\"code\":\"bad_split_key\""));
        assertEquals(400, get("/openai/v1/models", token, "X-Partial-Key-Id", created.key().id(), "X-Partial-Key", created.clientPart()).statusCode(),
                "a split key only works for its own provider");
        assertNull(upstream.takeRequest(100, TimeUnit.MILLISECONDS));
    }

    @Test
    void poolSkipsTheSecretAnswering429AndTheClientStillGetsItsAnswer() throws Exception {
        Connection pool = connection("act_admin", "pool", null, base, AuthType.BEARER, null, Map.of(), List.of(),
                "pool-secret-tired-1111", "pool-secret-fresh-2222");
        String token = token("act_admin", Set.of(pool.id()), false);
        for (int i = 0; i < 4; i++) {
            HttpResponse<String> r = get("/proxy/" + pool.id() + "/v1/models", token);
            assertEquals(200, r.statusCode(), "request " + i + ": " + r.body());
        }
        int tired = 0;
        RecordedRequest r;
        while ((r = upstream.takeRequest(100, TimeUnit.MILLISECONDS)) != null) {
            if ("Bearer pool-secret-tired-1111".equals(r.getHeader("Authorization"))) {
                tired++;
            }
        }
        assertEquals(1, tired, "once refused, the tired secret rests");
    }

    @Test
    void tamperedSecretFailsClosedForThatConnectionOnly() throws Exception {
        Connection broken = connection("act_admin", "broken", null, base, AuthType.BEARER, null, Map.of(), List.of(), "broken-secret-00000");
        Connection fine = connection("act_admin", "fine", null, base, AuthType.BEARER, null, Map.of(), List.of(), "fine-secret-0000000");
        try (var c = keyswap.keyswap.database().dataSource().getConnection();
             PreparedStatement ps = c.prepareStatement(
                     "UPDATE connection_secrets SET ciphertext = (SELECT ciphertext FROM connection_secrets s2 WHERE s2.connection_id = ?) "
                             + "WHERE connection_id = ?")) {
            ps.setString(1, fine.id());
            ps.setString(2, broken.id());
            assertEquals(1, ps.executeUpdate());
        }
        String token = token("act_admin", Set.of(broken.id(), fine.id()), false);
        HttpResponse<String> r = get("/proxy/" + broken.id() + "/x", token);
        assertEquals(502, r.statusCode());
        assertTrue(r.body().contains("\"code\":\"credential_unavailable\""), r.body());
        assertFalse(r.body().contains("secret"));
        assertEquals(200, get("/proxy/" + fine.id() + "/x", token).statusCode());
        assertEquals("Bearer fine-secret-0000000", recorded().getHeader("Authorization"));
    }

    @Test
    void anExtraHeaderNoHeaderCanCarryIsA502NotAHang() throws Exception {
        // Stored before such values were refused (today's store refuses them): the exception
        // building the upstream head left the request unanswered until the client gave up.
        Connection odd = connection("act_admin", "odd", null, base, AuthType.BEARER, null, Map.of("X-Title", "app"), List.of(),
                "odd-secret-00000000");
        try (var c = keyswap.keyswap.database().dataSource().getConnection();
             PreparedStatement ps = c.prepareStatement("UPDATE connections SET extra_headers = ? WHERE id = ?")) {
            ps.setString(1, "{\"X-Title\":\"My App \u2014 prod\"}");
            ps.setString(2, odd.id());
            assertEquals(1, ps.executeUpdate());
        }
        String token = token("act_admin", Set.of(odd.id()), false);
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(keyswap.baseUrl() + "/proxy/" + odd.id() + "/x"))
                .header("Authorization", "Bearer " + token).timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(502, r.statusCode());
        assertTrue(r.body().contains("\"code\":\"credential_unavailable\""), r.body());
        assertFalse(r.body().contains("odd-secret"), r.body());
        assertNull(upstream.takeRequest(200, TimeUnit.MILLISECONDS), "nothing reached the upstream");
    }

    @Test
    void aPoolRetryOntoASecretNoHeaderCanCarryRelaysTheRefusal() throws Exception {
        // The first secret is refused with 429 (the dispatcher above); the retry's secret was
        // stored before such values were refused. The retry used to throw with the exchange's
        // upstream already closed, and the client waited forever.
        Connection pool = connection("act_admin", "pool-odd", null, base, AuthType.BEARER, null, Map.of(), List.of(),
                "pool-secret-tired-1111", "pool-secret-placeholder-2222");
        try (var c = keyswap.keyswap.database().dataSource().getConnection();
             PreparedStatement find = c.prepareStatement("SELECT id FROM connection_secrets WHERE connection_id = ? AND position = 1");
             PreparedStatement update = c.prepareStatement("UPDATE connection_secrets SET key_id = ?, nonce = ?, ciphertext = ? WHERE id = ?")) {
            find.setString(1, pool.id());
            String rowId;
            try (var rs = find.executeQuery()) {
                assertTrue(rs.next());
                rowId = rs.getString(1);
            }
            Sealed odd = keyswap.keyswap.vault().seal("act_admin", rowId, "pool-secret-caf\u00e9-\u2014".getBytes(StandardCharsets.UTF_8));
            update.setString(1, odd.keyId());
            update.setBytes(2, odd.nonce());
            update.setBytes(3, odd.ciphertext());
            update.setString(4, rowId);
            assertEquals(1, update.executeUpdate());
        }
        String token = token("act_admin", Set.of(pool.id()), false);
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(keyswap.baseUrl() + "/proxy/" + pool.id() + "/x"))
                .header("Authorization", "Bearer " + token).timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(429, r.statusCode(), r.body());
        assertEquals("Bearer pool-secret-tired-1111", recorded().getHeader("Authorization"));
        assertNull(upstream.takeRequest(200, TimeUnit.MILLISECONDS), "no retry went out");
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (keyswap.keyswap.proxy().relayMetrics().active() > 0 && System.nanoTime() < until) {
            Thread.sleep(10);
        }
        assertEquals(0, keyswap.keyswap.proxy().relayMetrics().active(), "the exchange ended");
    }

    @Test
    void theDatabaseFileHoldsNoSecretInPlainText() throws Exception {
        connection("act_admin", "plaintext-check", null, base, AuthType.BEARER, null, Map.of(), List.of(), "sk-plaintext-needle-424242");
        keyswap.keyswap.splitKeys().create("act_admin", "openai", "sk-split-needle-434343".getBytes(StandardCharsets.UTF_8));
        for (Path file : Files.list(dir).filter(p -> p.getFileName().toString().startsWith("keyswap.db")).toList()) {
            String bytes = new String(Files.readAllBytes(file), StandardCharsets.ISO_8859_1);
            assertFalse(bytes.contains("sk-plaintext-needle-424242"), file.toString());
            assertFalse(bytes.contains("sk-split-needle-434343"), file.toString());
        }
    }
}
