package dev.keyswap.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.keyswap.auth.ApiKey;
import dev.keyswap.auth.TokenHasher;
import dev.keyswap.connect.AuthType;
import dev.keyswap.connect.Connection;
import dev.keyswap.store.ApiKeyStore;
import dev.keyswap.store.ConnectionStore;
import dev.keyswap.store.Database;
import dev.keyswap.store.SplitKeyStore;
import dev.keyswap.store.UsageStore;
import dev.keyswap.usage.UsageRecord;
import dev.keyswap.vault.MasterKey;
import dev.keyswap.vault.Vault;
import dev.keyswap.vault.VaultException;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
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
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@code keyswap keys …} run in-process against a temp SQLite file, exactly as a script would
 * see it: exit code, stdout, stderr. After every test, no output may contain the master key, and
 * a created token may appear only as the first line of its own create's stdout.
 */
class CliTest {
    private static final String TOKEN_LINE = "ptk_[0-9A-Za-z]{49}";

    @TempDir
    Path dir;
    private Path config;
    private Path db;
    private final List<Result> results = new ArrayList<>();
    private final List<String> tokens = new ArrayList<>();
    /** Connection and provider secrets given on stdin or in env: no output may ever hold one. */
    private final List<String> secrets = new ArrayList<>();

    record Result(String[] args, int code, String out, String err) {
        List<String> outLines() {
            return out.lines().toList();
        }
    }

    @BeforeEach
    void writeConfig() throws IOException {
        db = dir.resolve("keyswap.db");
        config = dir.resolve("keyswap.yaml");
        Files.writeString(config, """
                storage:
                  url: jdbc:sqlite:%s
                vault:
                  master_key_file: %s
                """.formatted(db, dir.resolve("master.key")));
    }

    @AfterEach
    void noOutputRevealsASecret() {
        for (Result r : results) {
            String all = r.out + r.err;
            assertFalse(all.contains(TestKeyswap.MASTER_KEY), "output reveals the master key: " + String.join(" ", r.args));
            for (String token : tokens) {
                String firstLine = r.out.startsWith(token + "\n") ? token + "\n" : "";
                String rest = r.out.substring(firstLine.length()) + r.err;
                assertFalse(rest.contains(token), "a token appears outside its create's first stdout line: "
                        + String.join(" ", r.args));
                assertFalse(rest.contains(token.substring(4, 20)), "part of a token appears in output: " + String.join(" ", r.args));
            }
            for (String secret : secrets) {
                assertFalse(all.contains(secret.substring(4, secret.length() - 4)), "a secret appears in output: "
                        + String.join(" ", r.args));
            }
        }
    }

    @Test
    void createPrintsTheTokenAloneOnTheFirstLineOfStdout() {
        Result r = cli("keys", "create", "--name", "a");
        assertEquals(0, r.code, r.err);
        assertEquals(1, r.outLines().size(), "stdout must hold the token line only: " + r.outLines().size() + " lines");
        assertTrue(r.outLines().get(0).matches("^" + TOKEN_LINE + "$"), "not a token line");
        assertTrue(r.err.contains("shown only now"), r.err);
    }

    @Test
    void createWithoutOptionsUsesTheDocumentedDefaults() {
        String token = create("keys", "create", "--name", "defaults");
        ApiKey key = storedKeyFor(token);
        assertEquals("defaults", key.name());
        assertEquals(Set.of(ApiKey.SCOPE_PROXY), key.scopes());
        assertEquals(Set.of(), key.providers(), "empty means every provider");
        assertTrue(key.allowServerKeys());
        assertNull(key.expiresAt());
        assertNull(key.rateLimitRpm());
        assertEquals("act_admin", key.actorId());
        assertFalse(key.isRevoked());
    }

    @Test
    void createStoresScopesProvidersRelativeExpiryAndRateLimit() {
        Instant before = Instant.now();
        String token = create("keys", "create", "--name", "limited", "--scopes", "proxy,read",
                "--providers", "openai,anthropic", "--expires", "30d", "--rpm", "60");
        Instant after = Instant.now();
        ApiKey key = storedKeyFor(token);
        assertEquals(Set.of("proxy", "read"), key.scopes());
        assertEquals(Set.of("openai", "anthropic"), key.providers());
        assertEquals(60, key.rateLimitRpm());
        assertFalse(key.expiresAt().isBefore(before.plus(Duration.ofDays(30)).minusSeconds(1)), key.expiresAt().toString());
        assertFalse(key.expiresAt().isAfter(after.plus(Duration.ofDays(30)).plusSeconds(1)), key.expiresAt().toString());

        String line = listLineOf(key.id());
        assertTrue(line.contains("\tlimited\t"), line);
        assertTrue(line.contains("scopes=proxy,read"), line);
        assertTrue(line.contains("providers=anthropic,openai"), line);
        assertTrue(line.contains("rpm=60"), line);
        assertTrue(line.endsWith("\tactive"), line);
    }

    @Test
    void createStoresAnAbsoluteExpiry() {
        ApiKey key = storedKeyFor(create("keys", "create", "--name", "dated", "--expires", "2030-01-01T00:00:00Z"));
        assertEquals(Instant.parse("2030-01-01T00:00:00Z"), key.expiresAt());
        assertTrue(listLineOf(key.id()).contains("expires=2030-01-01T00:00:00Z"));
    }

    @Test
    void createWithNoServerKeysForbidsServerKeys() {
        assertFalse(storedKeyFor(create("keys", "create", "--name", "byok", "--no-server-keys")).allowServerKeys());
    }

    @Test
    void databaseHoldsOnlyAKeyedHashOfTheToken() throws IOException {
        String token = create("keys", "create", "--name", "hashed");
        byte[] needle = token.getBytes(StandardCharsets.US_ASCII);
        try (Stream<Path> files = Files.list(dir)) {
            for (Path f : files.filter(p -> p.getFileName().toString().startsWith("keyswap.db")).toList()) {
                assertFalse(contains(Files.readAllBytes(f), needle), f + " contains the token");
            }
        }
        storedKeyFor(token); // found by HMAC-SHA256 with the master key's pepper
    }

    @Test
    void listPrintsOneLinePerKeyStartingWithItsIdAndNeverTheToken() {
        String first = create("keys", "create", "--name", "one");
        String second = create("keys", "create", "--name", "two");
        Result r = cli("keys", "list");
        assertEquals(0, r.code, r.err);
        List<String> lines = r.outLines();
        assertEquals(2, lines.size(), r.out);
        Set<String> ids = Set.of(storedKeyFor(first).id(), storedKeyFor(second).id());
        for (String line : lines) {
            assertTrue(ids.contains(line.substring(0, line.indexOf('\t'))), "line does not start with a key id: " + line);
            assertTrue(line.matches("^key_\\S+\t.*"), line);
        }
        assertFalse(r.out.contains(first) || r.out.contains(second));
    }

    @Test
    void listOfAnEmptyDatabasePrintsNothing() {
        Result r = cli("keys", "list");
        assertEquals(0, r.code, r.err);
        assertEquals("", r.out);
    }

    @Test
    void revokeMarksTheKeyRevoked() {
        String id = storedKeyFor(create("keys", "create", "--name", "doomed")).id();
        Result r = cli("keys", "revoke", id);
        assertEquals(0, r.code, r.err);
        assertTrue(r.err.contains("revoked " + id), r.err);
        assertTrue(listLineOf(id).endsWith("\trevoked"), listLineOf(id));
        try (Database d = Database.open("jdbc:sqlite:" + db)) {
            assertTrue(new ApiKeyStore(d).get(id).orElseThrow().isRevoked());
        }
    }

    @Test
    void revokingTwiceSucceedsAndSaysSo() {
        String id = storedKeyFor(create("keys", "create", "--name", "twice")).id();
        assertEquals(0, cli("keys", "revoke", id).code);
        Result again = cli("keys", "revoke", id);
        assertEquals(0, again.code, again.err);
        assertTrue(again.err.contains("already revoked"), again.err);
    }

    @Test
    void revokingAnUnknownIdExits1() {
        Result r = cli("keys", "revoke", "key_doesnotexist");
        assertEquals(1, r.code);
        assertTrue(r.err.contains("no key with id key_doesnotexist"), r.err);
        assertEquals("", r.out);
    }

    static Stream<Arguments> wrongCommandLines() {
        String yesterday = Instant.now().minus(Duration.ofDays(1)).toString();
        return Stream.of(
                Arguments.of(new String[] {"frobnicate"}, "unknown command 'frobnicate'"),
                Arguments.of(new String[] {"keys"}, "keys needs a subcommand"),
                Arguments.of(new String[] {"keys", "delete", "x"}, "unknown keys subcommand 'delete'"),
                Arguments.of(new String[] {"keys", "create", "--name", "a", "--colour", "red"}, "unknown option --colour"),
                Arguments.of(new String[] {"keys", "list", "--name", "a"}, "unknown option --name"),
                Arguments.of(new String[] {"keys", "create"}, "keys create needs --name"),
                Arguments.of(new String[] {"keys", "create", "--name", " "}, "keys create needs --name"),
                Arguments.of(new String[] {"keys", "create", "--name"}, "--name needs a value"),
                Arguments.of(new String[] {"keys", "create", "--name", "--rpm", "5"}, "--name needs a value"),
                Arguments.of(new String[] {"keys", "create", "a"}, "keys create takes options only"),
                Arguments.of(new String[] {"keys", "create", "--name", "a", "--scopes", "proxy,superuser"}, "unknown scope 'superuser'"),
                Arguments.of(new String[] {"keys", "create", "--name", "a", "--rpm", "0"}, "--rpm must be a positive whole number"),
                Arguments.of(new String[] {"keys", "create", "--name", "a", "--rpm", "-5"}, "--rpm must be a positive whole number"),
                Arguments.of(new String[] {"keys", "create", "--name", "a", "--rpm", "ten"}, "--rpm must be a positive whole number"),
                Arguments.of(new String[] {"keys", "create", "--name", "a", "--expires", yesterday}, "--expires must be in the future"),
                Arguments.of(new String[] {"keys", "create", "--name", "a", "--expires", "0d"}, "--expires must be in the future"),
                Arguments.of(new String[] {"keys", "create", "--name", "a", "--expires", "yesterday"}, "--expires takes a duration"),
                Arguments.of(new String[] {"keys", "create", "--name", "a", "--expires", "garbage"}, "--expires takes a duration"),
                Arguments.of(new String[] {"keys", "create", "--name", "a", "--expires", "+300000000-01-01T00:00:00Z"},
                        "--expires must be before the year 10000"),
                // A typo is not a token that works nowhere; an unset variable is not one that works everywhere.
                Arguments.of(new String[] {"keys", "create", "--name", "a", "--providers", "opnai"}, "unknown provider 'opnai'"),
                Arguments.of(new String[] {"keys", "create", "--name", "a", "--providers", ""}, "--providers needs at least one name"),
                Arguments.of(new String[] {"keys", "create", "--name", "a", "--providers", " , "}, "--providers needs at least one name"),
                Arguments.of(new String[] {"keys", "create", "--name", "a", "--scopes", ""}, "--scopes needs at least one name"),
                Arguments.of(new String[] {"keys", "create", "--name", "a", "--connections", ""}, "--connections needs at least one name"),
                Arguments.of(new String[] {"keys", "revoke"}, "keys revoke needs exactly one key id"),
                Arguments.of(new String[] {"keys", "revoke", "a", "b"}, "keys revoke needs exactly one key id"),
                Arguments.of(new String[] {"keys", "list", "extra"}, "keys list takes no arguments"),
                Arguments.of(new String[] {"serve", "now"}, "serve takes no arguments"),
                Arguments.of(new String[] {"connections"}, "connections needs a subcommand"),
                Arguments.of(new String[] {"connections", "edit"}, "unknown connections subcommand 'edit'"),
                Arguments.of(new String[] {"connections", "add", "--provider", "openai", "--auth", "bearer"}, "connections add needs --name"),
                Arguments.of(new String[] {"connections", "add", "--name", "a", "--auth", "bearer"}, "connections add needs --provider or --base-url"),
                Arguments.of(new String[] {"connections", "add", "--name", "a", "--provider", "openai"}, "connections add needs --auth"),
                Arguments.of(new String[] {"connections", "add", "--name", "a", "--provider", "openai", "--auth", "token"}, "unknown --auth 'token'"),
                Arguments.of(new String[] {"connections", "add", "--name", "a", "--provider", "nosuch", "--auth", "bearer"}, "unknown provider 'nosuch'"),
                Arguments.of(new String[] {"connections", "add", "--name", "a", "--provider", "openai", "--auth", "bearer",
                        "--header", "no colon"}, "--header takes 'Name: value'"),
                Arguments.of(new String[] {"connections", "add", "--name", "a", "--provider", "openai", "--auth", "none",
                        "--secret-env", "X"}, "--auth none takes no secret"),
                Arguments.of(new String[] {"connections", "remove"}, "connections remove needs exactly one connection id"),
                Arguments.of(new String[] {"connections", "list", "x"}, "connections list takes no arguments"),
                Arguments.of(new String[] {"split-keys"}, "split-keys needs a subcommand"),
                Arguments.of(new String[] {"split-keys", "create"}, "split-keys create needs --provider"),
                Arguments.of(new String[] {"split-keys", "create", "--provider", "nosuch"}, "unknown provider 'nosuch'"),
                Arguments.of(new String[] {"split-keys", "delete", "x"}, "unknown split-keys subcommand 'delete'"),
                Arguments.of(new String[] {"split-keys", "revoke"}, "split-keys revoke needs exactly one split key id"),
                Arguments.of(new String[] {"logs", "all"}, "logs takes options only"),
                Arguments.of(new String[] {"logs", "--limit", "0"}, "--limit must be a whole number from 1 to 10000"),
                Arguments.of(new String[] {"logs", "--limit", "10001"}, "--limit must be a whole number from 1 to 10000"),
                Arguments.of(new String[] {"logs", "--limit", "ten"}, "--limit must be a whole number from 1 to 10000"),
                Arguments.of(new String[] {"logs", "--limit", "5", "--request-id", "req-1"}, "logs takes --limit or --request-id, not both"),
                Arguments.of(new String[] {"logs", "--since", "1h"}, "unknown option --since"));
    }

    @ParameterizedTest(name = "{1}")
    @MethodSource("wrongCommandLines")
    void wrongCommandLineExits2WithAMessageAndCreatesNothing(String[] args, String message) {
        Result r = cli(args);
        assertEquals(2, r.code, r.err);
        assertTrue(r.err.startsWith("keyswap: " + message), "stderr should start with the reason: " + r.err);
        assertTrue(r.err.contains("usage: keyswap"), "stderr should show the usage: " + r.err);
        assertEquals("", r.out, "nothing on stdout");
        assertEquals("", cli("keys", "list").out, "no key may be created by a refused command");
    }

    /** keys list and connections list print a record per line, found by its first field: a name cannot start a line. */
    @ParameterizedTest
    @ValueSource(strings = {"x\nkey_FAKE0000000000\tadmin", "x\rkey_FAKE", "tab\tname", "x\u2028y"})
    void aNameThatCouldStartALineOfItsOwnIsRefused(String name) {
        Result key = cli("keys", "create", "--name", name);
        assertEquals(1, key.code, key.err);
        assertTrue(key.err.startsWith("keyswap: name: may not hold a control character or a line break"), key.err);
        assertEquals("", key.out);
        assertEquals("", cli("keys", "list").out, "no key was created");
        Result connection = cli("connections", "add", "--name", name, "--provider", "openai", "--auth", "none");
        assertEquals(1, connection.code, connection.err);
        assertTrue(connection.err.startsWith("keyswap: name: may not hold a control character or a line break"), connection.err);
        assertEquals("", cli("connections", "list").out, "no connection was created");
    }

    private static UsageRecord logged(int i) {
        return new UsageRecord(Instant.ofEpochMilli(1_763_900_000_000L + i), "req-" + i, "act_admin", "key_" + (i % 3),
                i % 2 == 0 ? "openai" : null, i % 2 == 0 ? null : "cn_1", "POST", "/v1/chat/completions", i % 5 == 0 ? 502 : 200,
                1000 + i, 900 + i, 300 + i, 600 + i, i % 2 == 0 ? "gpt-4o-mini" : null, i % 2 == 0 ? 12L + i : null,
                i % 2 == 0 ? 7L : null, i % 2 == 0 ? 0.0000125 * i : null);
    }

    @Test
    void logsPrintsTheLatestRecordsNewestFirstAsJsonLines() throws Exception {
        assertEquals(0, cli("logs").code, "an empty log");
        assertEquals("", cli("logs").out);
        try (Database database = Database.open("jdbc:sqlite:" + db)) {
            UsageStore store = new UsageStore(database);
            List<UsageRecord> first = new ArrayList<>();
            for (int i = 0; i < 300; i++) { // more than one block
                first.add(logged(i));
            }
            store.insertBatch(first);
            store.insertBatch(List.of(logged(300), logged(301)));
        }
        Result r = cli("logs", "--limit", "4");
        assertEquals(0, r.code, r.err);
        List<String> lines = r.outLines();
        assertEquals(4, lines.size(), r.out);
        com.fasterxml.jackson.databind.ObjectMapper json = new com.fasterxml.jackson.databind.ObjectMapper();
        List<String> ids = new ArrayList<>();
        for (String line : lines) {
            ids.add(json.readTree(line).get("request_id").asText());
        }
        assertEquals(List.of("req-301", "req-300", "req-299", "req-298"), ids, "newest first, across batches and blocks");
        com.fasterxml.jackson.databind.JsonNode newest = json.readTree(lines.get(0));
        List<String> names = new ArrayList<>();
        newest.fieldNames().forEachRemaining(names::add);
        assertEquals(List.of("time", "request_id", "actor_id", "token_id", "provider", "connection_id", "method", "path", "status",
                "duration_us", "upstream_us", "bytes_in", "bytes_out", "model", "input_tokens", "output_tokens", "cost_usd"),
                names);
        assertEquals(Instant.ofEpochMilli(1_763_900_000_301L).toString(), newest.get("time").asText());
        assertEquals("cn_1", newest.get("connection_id").asText());
        assertTrue(newest.get("provider").isNull() && newest.get("model").isNull() && newest.get("cost_usd").isNull(), lines.get(0));
        com.fasterxml.jackson.databind.JsonNode metered = json.readTree(lines.get(1));
        assertEquals(312, metered.get("input_tokens").asLong());
        assertEquals(0.0000125 * 300, metered.get("cost_usd").asDouble());

        assertEquals(20, cli("logs").outLines().size(), "20 by default");
        assertEquals(302, cli("logs", "--limit", "10000").outLines().size());

        Result one = cli("logs", "--request-id", "req-150");
        assertEquals(0, one.code, one.err);
        assertEquals(1, one.outLines().size());
        assertEquals(json.readTree(lines.get(0)).size(), json.readTree(one.out).size());
        assertEquals(1150, json.readTree(one.out).get("duration_us").asLong());
        Result none = cli("logs", "--request-id", "req-nope");
        assertEquals(1, none.code);
        assertEquals("", none.out);
        assertTrue(none.err.contains("no usage record for request req-nope"), none.err);
    }

    @Test
    void helpPrintsTheUsageOnStdoutAndExits0() {
        Result r = cli("help");
        assertEquals(0, r.code);
        assertTrue(r.out.contains("keys create --name N"), r.out);
    }

    @Test
    void configWithAnUnknownKeyExits1NamingTheKey() throws IOException {
        Files.writeString(config, Files.readString(config) + "server:\n  prot: 8080\n");
        Result r = cli("keys", "list");
        assertEquals(1, r.code);
        assertTrue(r.err.contains("unknown key 'server.prot'"), r.err);
        assertEquals("", r.out);
    }

    @Test
    void missingConfigFileExits1NamingTheFile() {
        Result r = run(Map.of("KEYSWAP_MASTER_KEY", TestKeyswap.MASTER_KEY),
                "keys", "list", "--config", dir.resolve("nope.yaml").toString());
        assertEquals(1, r.code);
        assertTrue(r.err.contains("nope.yaml") && r.err.contains("does not exist"), r.err);
    }

    @Test
    void malformedMasterKeyExits1NamingItsSourceButNotItsValue() {
        String bad = "not-a-master-key-but-secret-looking-0123456789";
        Result r = run(Map.of("KEYSWAP_MASTER_KEY", bad), "keys", "list", "--config", config.toString());
        assertEquals(1, r.code);
        assertTrue(r.err.contains("KEYSWAP_MASTER_KEY"), r.err);
        assertFalse(r.err.contains(bad), r.err);
    }

    @Test
    void keyFileIsCreatedOnFirstUseWhenNoMasterKeyIsGiven() {
        Result r = run(Map.of(), "keys", "create", "--name", "filekey", "--config", config.toString());
        assertEquals(0, r.code, r.err);
        tokens.add(r.outLines().get(0));
        assertTrue(Files.isRegularFile(dir.resolve("master.key")));
        Result list = run(Map.of(), "keys", "list", "--config", config.toString());
        assertEquals(1, list.outLines().size(), list.out);
    }

    // --- connections ---

    private static final String OPENAI_SECRET = "sk-fake-CLIsecretVALUE-0123456789abcd";

    @Test
    void connectionsAddReadsTheSecretFromStdinAndListShowsItMaskedOnly() {
        secrets.add(OPENAI_SECRET);
        Result r = cliIn(OPENAI_SECRET + "\n", "connections", "add", "--name", "my openai", "--provider", "openai",
                "--auth", "bearer", "--header", "OpenAI-Organization: org-42", "--allow-path", "/v1/chat/",
                "--allow-path", "/v1/models");
        assertEquals(0, r.code, r.err);
        assertEquals(1, r.outLines().size(), r.out);
        String id = r.outLines().get(0);
        assertTrue(id.matches("cn_[0-9A-Za-z]{16}"), id);

        Result list = cli("connections", "list");
        assertEquals(0, list.code, list.err);
        assertEquals(1, list.outLines().size(), list.out);
        String line = list.outLines().get(0);
        assertTrue(line.startsWith(id + "\tmy openai\t"), line);
        assertTrue(line.contains("provider=openai"), line);
        assertTrue(line.contains("auth=bearer"), line);
        assertTrue(line.contains("secrets=" + Vault.mask(OPENAI_SECRET)), line);
        assertTrue(line.contains("paths=/v1/chat/,/v1/models"), line);
        assertTrue(line.contains("headers=OpenAI-Organization"), line);

        try (Database d = Database.open("jdbc:sqlite:" + db)) {
            ConnectionStore store = new ConnectionStore(d, vault());
            Connection c = store.get(id).orElseThrow();
            assertEquals("act_admin", c.actorId());
            assertEquals(Map.of("OpenAI-Organization", "org-42"), c.extraHeaders());
            assertEquals(List.of(OPENAI_SECRET), store.openSecrets(c));
        }
    }

    @Test
    void severalStdinLinesMakeAKeyPoolInOrder() {
        List<String> pool = List.of("pool-secret-one-1111111111", "pool-secret-two-2222222222", "pool-secret-three-33333333");
        secrets.addAll(pool);
        String id = addConnection(String.join("\r\n", pool) + "\n\n", "connections", "add", "--name", "pool",
                "--base-url", "https://api.example.com/v1", "--auth", "api_key", "--auth-param", "X-Service-Key");
        try (Database d = Database.open("jdbc:sqlite:" + db)) {
            ConnectionStore store = new ConnectionStore(d, vault());
            Connection c = store.get(id).orElseThrow();
            assertEquals(AuthType.API_KEY, c.authType());
            assertEquals("X-Service-Key", c.authParam());
            assertEquals(pool, store.openSecrets(c));
        }
        assertTrue(listLine("connections", id).contains("auth=api_key:X-Service-Key"));
    }

    @Test
    void secretEnvReadsTheNamedVariable() {
        String secret = "env-provided-secret-ABCDEFGH";
        secrets.add(secret);
        Result r = runIn(Map.of("KEYSWAP_MASTER_KEY", TestKeyswap.MASTER_KEY, "SVC_TOKEN", secret), "",
                "connections", "add", "--name", "env", "--base-url", "https://api.example.com", "--auth", "query",
                "--auth-param", "api_key", "--secret-env", "SVC_TOKEN", "--config", config.toString());
        assertEquals(0, r.code, r.err);
        try (Database d = Database.open("jdbc:sqlite:" + db)) {
            ConnectionStore store = new ConnectionStore(d, vault());
            assertEquals(List.of(secret), store.openSecrets(store.get(r.outLines().get(0)).orElseThrow()));
        }
        Result missing = cli("connections", "add", "--name", "env2", "--base-url", "https://api.example.com",
                "--auth", "bearer", "--secret-env", "NOT_SET_ANYWHERE");
        assertEquals(1, missing.code);
        assertTrue(missing.err.contains("NOT_SET_ANYWHERE is not set"), missing.err);
    }

    @Test
    void connectionToAPrivateOrMetadataAddressIsRefusedAtCreation() {
        for (String url : new String[] {"http://169.254.169.254", "http://127.0.0.1:8080", "http://10.0.0.1", "http://localhost"}) {
            Result r = cliIn("tenant-secret-1234567890\n", "connections", "add", "--name", "ssrf", "--base-url", url, "--auth", "bearer");
            assertEquals(1, r.code, url + ": " + r.err);
            assertTrue(r.err.contains("loopback, private, link-local or reserved address"), r.err);
            assertTrue(r.out.isEmpty(), r.out);
        }
        assertTrue(cli("connections", "list").out.isEmpty(), "nothing was stored");
    }

    @Test
    void authNoneReadsNoSecret() {
        String id = addConnection("", "connections", "add", "--name", "open", "--base-url", "https://status.example.com",
                "--auth", "none");
        assertTrue(listLine("connections", id).contains("auth=none\tsecrets=-"), listLine("connections", id));
    }

    @Test
    void secretOnTheCommandLineIsRefusedAndNotEchoed() {
        String secret = "argv-secret-MUST-NOT-STORE-123";
        secrets.add(secret);
        for (String[] args : List.of(
                new String[] {"connections", "add", "--name", "a", "--provider", "openai", "--auth", "bearer", "--secret", secret},
                new String[] {"connections", "add", "--name", "a", "--provider", "openai", "--auth", "bearer", "--secret=" + secret},
                new String[] {"split-keys", "create", "--provider", "openai", "--secret", secret})) {
            Result r = cliIn(OPENAI_SECRET + "\n", args);
            assertEquals(2, r.code, r.err);
            assertTrue(r.err.startsWith("keyswap: unknown option --secret"), r.err);
            assertEquals("", r.out);
        }
        assertEquals("", cli("connections", "list").out);
        assertEquals("", cli("split-keys", "list").out);
    }

    @Test
    void emptyStdinIsRefused() {
        Result r = cliIn("\n  \n", "connections", "add", "--name", "a", "--provider", "openai", "--auth", "bearer");
        assertEquals(1, r.code);
        assertTrue(r.err.contains("no secret on stdin"), r.err);
        assertEquals("", cli("connections", "list").out);
    }

    @Test
    void invalidConnectionExits1NamingTheFieldAndStoresNothing() {
        secrets.add(OPENAI_SECRET);
        Result r = cliIn(OPENAI_SECRET, "connections", "add", "--name", "a", "--provider", "openai", "--auth", "bearer",
                "--header", "Authorization: Bearer sneaky-header-secret");
        assertEquals(1, r.code);
        assertTrue(r.err.contains("extra_headers: 'Authorization' is a credential slot"), r.err);
        Result http = cliIn(OPENAI_SECRET, "connections", "add", "--name", "b", "--base-url", "ftp://x.example", "--auth", "bearer");
        assertEquals(1, http.code);
        assertTrue(http.err.contains("base_url"), http.err);
        assertEquals("", cli("connections", "list").out);
    }

    @Test
    void removeDeletesTheConnectionAndUnknownIdsExit1() {
        secrets.add(OPENAI_SECRET);
        String id = addConnection(OPENAI_SECRET, "connections", "add", "--name", "gone", "--provider", "openai", "--auth", "bearer");
        Result r = cli("connections", "remove", id);
        assertEquals(0, r.code, r.err);
        assertTrue(r.err.contains("removed " + id), r.err);
        assertEquals("", cli("connections", "list").out);
        Result again = cli("connections", "remove", id);
        assertEquals(1, again.code);
        assertTrue(again.err.contains("no connection with id " + id), again.err);
    }

    @Test
    void keysCreateWithConnectionsStoresThemAfterCheckingTheyExist() {
        secrets.add(OPENAI_SECRET);
        String a = addConnection(OPENAI_SECRET, "connections", "add", "--name", "a", "--provider", "openai", "--auth", "bearer");
        String b = addConnection("", "connections", "add", "--name", "b", "--base-url", "https://x.example", "--auth", "none");
        ApiKey key = storedKeyFor(create("keys", "create", "--name", "scoped", "--connections", a + "," + b));
        assertEquals(Set.of(a, b), key.connections());
        assertTrue(listLineOf(key.id()).contains("connections=" + String.join(",", new java.util.TreeSet<>(Set.of(a, b)))));
        assertEquals(Set.of(), storedKeyFor(create("keys", "create", "--name", "plain")).connections());

        Result r = cli("keys", "create", "--name", "bad", "--connections", a + ",cn_doesnotexist");
        assertEquals(1, r.code);
        assertTrue(r.err.contains("no connection with id cn_doesnotexist"), r.err);
        assertEquals("", r.out);
        assertEquals(2, cli("keys", "list").outLines().size(), "the refused key was not created");
    }

    // --- split keys ---

    @Test
    void splitKeysCreatePrintsKeyIdAndClientPartThatOpenTheKey() {
        secrets.add(OPENAI_SECRET);
        Result r = cliIn(OPENAI_SECRET + "\n", "split-keys", "create", "--provider", "openai");
        assertEquals(0, r.code, r.err);
        assertEquals(2, r.outLines().size(), r.out);
        assertTrue(r.outLines().get(0).matches("key_id=pk_[0-9A-Za-z]{16}"), r.out);
        assertTrue(r.outLines().get(1).matches("client_part=[A-Za-z0-9_-]{43}"), "client part line malformed");
        String id = r.outLines().get(0).substring("key_id=".length());
        String part = r.outLines().get(1).substring("client_part=".length());
        assertTrue(r.err.contains("shown only now"), r.err);

        try (Database d = Database.open("jdbc:sqlite:" + db)) {
            SplitKeyStore store = new SplitKeyStore(d, vault());
            assertEquals(OPENAI_SECRET, store.open(id, part).orElseThrow());
            String wrong = (part.charAt(0) == 'A' ? "B" : "A") + part.substring(1);
            assertThrows(VaultException.class, () -> store.open(id, wrong));
        }
        String line = listLine("split-keys", id);
        assertTrue(line.contains("provider=openai") && line.endsWith("\tactive"), line);
        assertFalse(cli("split-keys", "list").out.contains(part), "list shows the client part");

        Result revoke = cli("split-keys", "revoke", id);
        assertEquals(0, revoke.code, revoke.err);
        assertTrue(listLine("split-keys", id).endsWith("\trevoked"));
        try (Database d = Database.open("jdbc:sqlite:" + db)) {
            assertTrue(new SplitKeyStore(d, vault()).open(id, part).isEmpty());
        }
        assertEquals(1, cli("split-keys", "revoke", "pk_doesnotexist").code);
    }

    @Test
    void splitKeysCreateTakesExactlyOneKey() {
        Result r = cliIn("key-one-aaaaaaaaaaaa\nkey-two-bbbbbbbbbbbb\n", "split-keys", "create", "--provider", "openai");
        assertEquals(1, r.code);
        assertTrue(r.err.contains("expected one key on stdin"), r.err);
        assertEquals("", cli("split-keys", "list").out);
    }

    // --- helpers ---

    private static Vault vault() {
        return new Vault(List.of(MasterKey.load(TestKeyswap.MASTER_KEY, null, null)));
    }

    private Result cliIn(String stdin, String... args) {
        String[] withConfig = Stream.concat(Stream.of(args), Stream.of("--config", config.toString())).toArray(String[]::new);
        return runIn(Map.of("KEYSWAP_MASTER_KEY", TestKeyswap.MASTER_KEY), stdin, withConfig);
    }

    /** Runs a connections add that must succeed; returns the new id. */
    private String addConnection(String stdin, String... args) {
        Result r = cliIn(stdin, args);
        assertEquals(0, r.code, r.err);
        assertEquals(1, r.outLines().size(), r.out);
        return r.outLines().get(0);
    }

    private String listLine(String command, String id) {
        Result r = cli(command, "list");
        assertEquals(0, r.code, r.err);
        return r.outLines().stream().filter(l -> l.startsWith(id + "\t")).findFirst()
                .orElseThrow(() -> new AssertionError(id + " not listed: " + r.out));
    }

    private Result cli(String... args) {
        String[] withConfig = Stream.concat(Stream.of(args), Stream.of("--config", config.toString())).toArray(String[]::new);
        return run(Map.of("KEYSWAP_MASTER_KEY", TestKeyswap.MASTER_KEY), withConfig);
    }

    private Result run(Map<String, String> env, String... args) {
        return runIn(env, "", args);
    }

    private Result runIn(Map<String, String> env, String stdin, String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code;
        try (PrintStream o = new PrintStream(out, true, StandardCharsets.UTF_8);
             PrintStream e = new PrintStream(err, true, StandardCharsets.UTF_8)) {
            code = new Cli(new ByteArrayInputStream(stdin.getBytes(StandardCharsets.UTF_8)), o, e, env).run(args);
        }
        Result r = new Result(args, code, out.toString(StandardCharsets.UTF_8).replace("\r\n", "\n"),
                err.toString(StandardCharsets.UTF_8));
        results.add(r);
        return r;
    }

    /** Runs a create that must succeed; returns its token. */
    private String create(String... args) {
        Result r = cli(args);
        assertEquals(0, r.code, r.err);
        String token = r.outLines().get(0);
        assertTrue(token.matches(TOKEN_LINE), "not a token line");
        tokens.add(token);
        return token;
    }

    private ApiKey storedKeyFor(String token) {
        TokenHasher hasher = new TokenHasher(MasterKey.load(TestKeyswap.MASTER_KEY, null, null));
        try (Database d = Database.open("jdbc:sqlite:" + db)) {
            return new ApiKeyStore(d).findByTokenHash(hasher.hash(token)).orElseThrow(
                    () -> new AssertionError("no key stored under the token's hash"));
        }
    }

    private String listLineOf(String id) {
        Result r = cli("keys", "list");
        assertEquals(0, r.code, r.err);
        return r.outLines().stream().filter(l -> l.startsWith(id + "\t")).findFirst()
                .orElseThrow(() -> new AssertionError(id + " not listed: " + r.out));
    }

    /** Byte-exact: ISO-8859-1 maps each byte to one char and back. */
    private static boolean contains(byte[] haystack, byte[] needle) {
        return new String(haystack, StandardCharsets.ISO_8859_1).contains(new String(needle, StandardCharsets.ISO_8859_1));
    }
}
