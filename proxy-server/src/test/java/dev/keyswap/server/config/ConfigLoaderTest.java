package dev.keyswap.server.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Bad config is refused with a message that names the key (and the variable, for an unset
 * {@code ${VAR}}), and never quotes a server key. Every bad file below also carries a server key,
 * so each case checks that it is not echoed.
 */
class ConfigLoaderTest {
    private static final String SECRET = "sk-live-DoNotPrintMe0123456789";
    private static final String WITH_SECRET = """
            providers:
              anthropic:
                api_key: %s
            """.formatted(SECRET);

    @TempDir
    Path dir;

    static Stream<Arguments> refusedConfigs() {
        return Stream.of(
                Arguments.of("unknown top-level section", "sever:\n  port: 1\n", new String[] {"unknown key", "'sever'"}),
                Arguments.of("unknown key in a section", "server:\n  prot: 8080\n", new String[] {"unknown key", "'server.prot'"}),
                Arguments.of("unknown key in a provider", "providers:\n  openai:\n    apikey: " + SECRET + "\n",
                        new String[] {"unknown key", "'providers.openai.apikey'"}),
                Arguments.of("port is not a number", "server:\n  port: eighty\n", new String[] {"'server.port'", "wrong type"}),
                Arguments.of("section is a scalar", "server: localhost\n", new String[] {"'server'", "wrong type"}),
                Arguments.of("list where text is expected", "storage:\n  url: [a, b]\n", new String[] {"'storage.url'", "wrong type"}),
                Arguments.of("bad duration", "auth:\n  token_cache_ttl: 5 seconds\n", new String[] {"'auth.token_cache_ttl'", "duration"}),
                Arguments.of("duration without unit", "server:\n  drain_timeout: 30\n", new String[] {"'server.drain_timeout'", "duration"}),
                Arguments.of("port above 65535", "server:\n  port: 70000\n", new String[] {"'server.port'", "between 0 and 65535"}),
                Arguments.of("negative port", "server:\n  port: -1\n", new String[] {"'server.port'", "between 0 and 65535"}),
                Arguments.of("unknown transport", "server:\n  transport: kqueue\n",
                        new String[] {"'server.transport'", "one of auto, io_uring, epoll, nio"}),
                Arguments.of("base_url not http", "providers:\n  openai:\n    base_url: ftp://files.example.com\n",
                        new String[] {"'providers.openai.base_url'", "http:// or https://"}),
                Arguments.of("base_url port above 65535", "providers:\n  openai:\n    base_url: https://api.openai.com:70000/v1\n",
                        new String[] {"'providers.openai.base_url'", "1 to 65535"}),
                Arguments.of("api_key with a non-ASCII character", "providers:\n  openai:\n    api_key: \"\\uFEFF" + SECRET + "\"\n",
                        new String[] {"'providers.openai.api_key'", "printable ASCII"}),
                Arguments.of("base_url with a query", "providers:\n  mistral:\n    base_url: https://api.mistral.ai/?x=1\n",
                        new String[] {"'providers.mistral.base_url'"}),
                Arguments.of("bad slot", "providers:\n  openai:\n    slot: cookie\n", new String[] {"'providers.openai.slot'"}),
                Arguments.of("reserved provider name", "providers:\n  healthz:\n    base_url: https://example.com\n",
                        new String[] {"'providers.healthz'", "healthz"}),
                Arguments.of("provider name with capitals", "providers:\n  MyApi:\n    base_url: https://example.com\n",
                        new String[] {"'providers.MyApi'"}),
                Arguments.of("tls certificate file missing", "server:\n  tls:\n    cert_file: /no/such/cert.pem\n    key_file: /no/such/key.pem\n",
                        new String[] {"'server.tls.cert_file'", "does not exist"}),
                Arguments.of("prices file missing", "usage:\n  prices_file: /no/such/prices.json\n",
                        new String[] {"'usage.prices_file'", "does not exist"}),
                Arguments.of("websocket cap of zero", "websocket:\n  max_per_token: 0\n",
                        new String[] {"'websocket.max_per_token'", "between 1 and"}),
                Arguments.of("custom provider without base_url", "providers:\n  myapi:\n    api_key: " + SECRET + "\n",
                        new String[] {"'providers.myapi.base_url'", "required"}),
                Arguments.of("storage url neither sqlite nor postgres", "storage:\n  url: jdbc:mysql://db/keyswap\n",
                        new String[] {"'storage.url'"}),
                Arguments.of("key given twice", "server:\n  port: 1\n  port: 2\n", new String[] {"'port' is given twice", "(line "}),
                Arguments.of("bad YAML names the line", "server:\n  port: [1\n", new String[] {"not valid YAML at line"}),
                Arguments.of("unset variable", "auth:\n  admin_token: ${KEYSWAP_TEST_UNSET_VAR}\n",
                        new String[] {"KEYSWAP_TEST_UNSET_VAR", "'auth.admin_token'", "not set"}),
                // Past what the timers' nanoseconds hold, the drain once skipped the usage log's flush.
                Arguments.of("drain timeout of a million days", "server:\n  drain_timeout: 999999999d\n",
                        new String[] {"'server.drain_timeout'", "at most 365d"}),
                Arguments.of("token cache ttl past a year", "auth:\n  token_cache_ttl: 9000h\n",
                        new String[] {"'auth.token_cache_ttl'", "at most 365d"}),
                Arguments.of("flush interval of zero", "usage:\n  flush_interval: 0s\n",
                        new String[] {"'usage.flush_interval'", "more than zero"}),
                Arguments.of("connect timeout of zero", "upstream:\n  connect_timeout: 0ms\n",
                        new String[] {"'upstream.connect_timeout'", "more than zero"}),
                // An empty list item once loaded, then failed every connection as it was accepted.
                Arguments.of("empty CORS origin", "cors:\n  allowed_origins: [~]\n",
                        new String[] {"'cors.allowed_origins[0]'", "empty"}),
                Arguments.of("empty CORS origin item", "cors:\n  allowed_origins:\n    - https://a.example\n    -\n",
                        new String[] {"'cors.allowed_origins[1]'", "empty"}),
                Arguments.of("empty private address", "upstream:\n  allow_private_addresses: [~]\n",
                        new String[] {"'upstream.allow_private_addresses[0]'", "empty"}));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("refusedConfigs")
    void badConfigIsRefusedNamingTheKeyWithoutQuotingServerKeys(String name, String yaml, String[] expected) throws IOException {
        String withSecret = yaml.startsWith("providers:\n")
                ? yaml.replaceFirst("providers:\n", "providers:\n  anthropic:\n    api_key: " + SECRET + "\n")
                : WITH_SECRET + yaml;
        ConfigException e = assertThrows(ConfigException.class, () -> load(withSecret, Map.of()));
        for (String fragment : expected) {
            assertTrue(e.getMessage().contains(fragment), "message should contain " + fragment + ": " + e.getMessage());
        }
        assertFalse(e.getMessage().contains(SECRET), "message quotes a server key: " + e.getMessage());
    }

    /** Mistakes made on the very line that holds the secret. */
    static Stream<Arguments> mistakesAroundAServerKey() {
        return Stream.of(
                Arguments.of("provider given as a bare key", "providers:\n  openai: " + SECRET + "\n"),
                Arguments.of("api_key as a list", "providers:\n  openai:\n    api_key: [" + SECRET + "]\n"),
                Arguments.of("api_key as a mapping", "providers:\n  openai:\n    api_key: {" + SECRET + ": 1}\n"),
                Arguments.of("not valid YAML on the key's line", "providers:\n  openai:\n    api_key: \"" + SECRET + "\n"),
                Arguments.of("tab indentation on the key's line", "providers:\n  openai:\n\tapi_key: " + SECRET + "\n"),
                Arguments.of("top level is the key", SECRET + "\n"));
    }

    /**
     * A key put in the URL, where a base_url cannot carry it: the refusal says which part is
     * wrong and quotes none of it, as the URL is printed to stderr and the service's log.
     */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"https://api.crm.example/v1?api_key=${CRM_KEY}", "https://user:${CRM_KEY}@api.crm.example/v1",
        "https://api.crm.example/v1#${CRM_KEY}", "${CRM_KEY}://api.crm.example", "https://api.crm.example/v1 ${CRM_KEY}"})
    void aBaseUrlRefusedIsNotQuoted(String baseUrl) {
        String yaml = "providers:\n  crm:\n    base_url: " + baseUrl + "\n";
        ConfigException e = assertThrows(ConfigException.class, () -> load(yaml, Map.of("CRM_KEY", SECRET)));
        assertTrue(e.getMessage().contains("'providers.crm.base_url'"), e.getMessage());
        assertFalse(e.getMessage().contains("DoNotPrint"), "message quotes the key in the URL: " + e.getMessage());
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("mistakesAroundAServerKey")
    void messagesNeverQuoteAServerKey(String name, String yaml) {
        ConfigException e = assertThrows(ConfigException.class, () -> load(yaml, Map.of()));
        assertFalse(e.getMessage().contains(SECRET), "message quotes a server key: " + e.getMessage());
        assertFalse(e.getMessage().contains("DoNotPrint"), "message quotes part of a server key: " + e.getMessage());
    }

    @Test
    void serverKeyFromAnUnsetVariableIsRefusedNamingOnlyTheVariable() {
        ConfigException e = assertThrows(ConfigException.class,
                () -> load("providers:\n  openai:\n    api_key: ${KEYSWAP_TEST_OPENAI_KEY}\n", Map.of()));
        assertTrue(e.getMessage().contains("KEYSWAP_TEST_OPENAI_KEY"), e.getMessage());
        assertTrue(e.getMessage().contains("'providers.openai.api_key'"), e.getMessage());
    }

    @Test
    void variableDefaultIsUsedWhenTheVariableIsUnsetOrEmpty() throws IOException {
        String yaml = "server:\n  port: ${KEYSWAP_TEST_PORT:-9999}\n  host: ${KEYSWAP_TEST_HOST:-0.0.0.0}\n";
        assertEquals(9999, load(yaml, Map.of()).server().port());
        assertEquals("0.0.0.0", load(yaml, Map.of()).server().host());
        assertEquals(9999, load(yaml, Map.of("KEYSWAP_TEST_PORT", "")).server().port());
        assertEquals(1234, load(yaml, Map.of("KEYSWAP_TEST_PORT", "1234")).server().port());
    }

    @Test
    void variableIsSubstitutedInsideALongerValue() throws IOException {
        Settings s = load("storage:\n  url: jdbc:sqlite:${KEYSWAP_TEST_DIR}/k.db\n", Map.of("KEYSWAP_TEST_DIR", "/var/lib/keyswap"));
        assertEquals("jdbc:sqlite:/var/lib/keyswap/k.db", s.storageUrl());
    }

    @Test
    void variableValueCannotChangeTheDocumentStructure() throws IOException {
        Settings s = load("auth:\n  admin_token: ${KEYSWAP_TEST_TOKEN}\n",
                Map.of("KEYSWAP_TEST_TOKEN", "x\nserver:\n  port: 1"));
        assertEquals("x\nserver:\n  port: 1", s.adminToken());
        assertEquals(8787, s.server().port());
    }

    @Test
    void emptyServerKeyMeansNoServerKey() throws IOException {
        Settings s = load("providers:\n  openai:\n    api_key: ${OPENAI_API_KEY:-}\n", Map.of());
        assertNull(s.catalog().find("openai").serverKey());
        Settings withKey = load("providers:\n  openai:\n    api_key: ${OPENAI_API_KEY:-}\n", Map.of("OPENAI_API_KEY", SECRET));
        assertEquals(SECRET, withKey.catalog().find("openai").serverKey());
        assertFalse(withKey.toString().contains(SECRET), withKey.toString());
        assertFalse(withKey.catalog().find("openai").toString().contains(SECRET));
    }

    @Test
    void customProviderDefaultsToTheBearerSlot() throws IOException {
        Settings s = load("providers:\n  my-api:\n    base_url: https://api.example.com/v2\n", Map.of());
        var p = s.catalog().find("my-api");
        assertEquals("api.example.com", p.target().host());
        assertEquals("/v2", p.target().basePath());
        assertEquals(dev.keyswap.route.CredentialSlot.BEARER, p.slot());
    }

    @Test
    void durationsAcceptEveryDocumentedUnit() throws IOException {
        Settings s = load("""
                auth:
                  token_cache_ttl: 250ms
                  negative_cache_ttl: 2m
                server:
                  drain_timeout: 1h
                usage:
                  flush_interval: 1d
                """, Map.of());
        assertEquals(Duration.ofMillis(250), s.tokenCacheTtl());
        assertEquals(Duration.ofMinutes(2), s.negativeCacheTtl());
        assertEquals(Duration.ofHours(1), s.drainTimeout());
        assertEquals(Duration.ofDays(1), s.usageFlushInterval());
    }

    @Test
    void explicitlyNamedConfigFileMustExist() {
        ConfigException e = assertThrows(ConfigException.class,
                () -> ConfigLoader.load(dir.resolve("missing.yaml"), true, Map.of()));
        assertTrue(e.getMessage().contains("missing.yaml"), e.getMessage());
    }

    @Test
    void absentDefaultConfigFileMeansAllDefaults() {
        Settings s = ConfigLoader.load(dir.resolve("missing.yaml"), false, Map.of());
        assertEquals(8787, s.server().port());
        assertEquals("jdbc:sqlite:data/keyswap.db", s.storageUrl());
    }

    private Settings load(String yaml, Map<String, String> env) throws IOException {
        Path file = Files.writeString(dir.resolve("keyswap.yaml"), yaml);
        return ConfigLoader.load(file, true, env);
    }

    @Test
    void tlsCertificateWithoutKeyIsRefused() throws IOException {
        Path cert = Files.writeString(dir.resolve("cert.pem"), "-----BEGIN CERTIFICATE-----\n");
        Path config = Files.writeString(dir.resolve("tls.yaml"), "server:\n  tls:\n    cert_file: " + cert + "\n");
        ConfigException e = assertThrows(ConfigException.class, () -> ConfigLoader.load(config, true, Map.of()));
        assertTrue(e.getMessage().contains("'server.tls.cert_file' and 'server.tls.key_file' go together"), e.getMessage());
    }
}
