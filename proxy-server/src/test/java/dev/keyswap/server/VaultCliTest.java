package dev.keyswap.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.keyswap.auth.TokenHasher;
import dev.keyswap.store.ApiKeyStore;
import dev.keyswap.store.Database;
import dev.keyswap.store.VaultKeys;
import dev.keyswap.vault.MasterKey;
import dev.keyswap.vault.Vault;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@code keyswap vault rotate} run in-process against a temp SQLite file, as an operator would:
 * the new key as KEYSWAP_MASTER_KEY, the old one in vault.previous_master_keys (here through
 * ${KEYSWAP_OLD_MASTER_KEY}). No output may ever contain either master key, in either encoding.
 */
class VaultCliTest {
    private static final SecureRandom RANDOM = new SecureRandom();

    @TempDir
    Path dir;
    private Path config;
    private Path db;
    private final byte[] oldRaw = random32();
    private final byte[] newRaw = random32();
    private final String oldKey = Base64.getEncoder().encodeToString(oldRaw);
    private final String newKey = HexFormat.of().formatHex(newRaw); // both accepted encodings in play
    private final List<String> outputs = new ArrayList<>();
    private final List<String> tokens = new ArrayList<>();

    private static byte[] random32() {
        byte[] b = new byte[32];
        RANDOM.nextBytes(b);
        return b;
    }

    @BeforeEach
    void writeConfig() throws IOException {
        db = dir.resolve("keyswap.db");
        config = dir.resolve("keyswap.yaml");
        Files.writeString(config, """
                server:
                  port: 0
                storage:
                  url: jdbc:sqlite:%s
                vault:
                  master_key_file: %s
                  previous_master_keys:
                    - ${KEYSWAP_OLD_MASTER_KEY:-}
                """.formatted(db, dir.resolve("master.key")));
    }

    @AfterEach
    void noOutputRevealsAKeyOrAToken() {
        for (String all : outputs) {
            for (String secret : List.of(oldKey, newKey, HexFormat.of().formatHex(oldRaw), Base64.getEncoder().encodeToString(newRaw))) {
                assertFalse(all.contains(secret), "output reveals a master key");
                assertFalse(all.contains(secret.substring(0, 12)), "output reveals part of a master key");
            }
        }
    }

    @Test
    void rotateMovesTheDatabaseToTheNewKeyAndTokensKeepWorking() {
        String token = createToken(Map.of("KEYSWAP_MASTER_KEY", oldKey));

        Result r = run(Map.of("KEYSWAP_MASTER_KEY", newKey, "KEYSWAP_OLD_MASTER_KEY", oldKey), "vault", "rotate", "--batch", "10");
        assertEquals(0, r.code, r.err);
        assertEquals("", r.out, "the summary goes to stderr");
        assertEquals("keyswap: re-sealed 1 secret in 1 batch; old keys can now be removed from vault.previous_master_keys\n", r.err);

        // The new key alone now runs every command, and the token made before still validates.
        Map<String, String> newOnly = Map.of("KEYSWAP_MASTER_KEY", newKey);
        Result list = run(newOnly, "keys", "list");
        assertEquals(0, list.code, list.err);
        assertEquals(1, list.out.lines().count(), list.out);
        assertTrue(tokenIsStored(token, MasterKey.parse("test", newKey)), "a token from before the rotation no longer validates");
        String after = createToken(newOnly);
        assertTrue(tokenIsStored(after, MasterKey.parse("test", newKey)));

        // The old key alone is refused, and running again has nothing left to do.
        Result old = run(Map.of("KEYSWAP_MASTER_KEY", oldKey), "keys", "create", "--name", "stale");
        assertEquals(1, old.code);
        assertTrue(old.err.startsWith("keyswap: the master key does not match this database (key check "), old.err);
        assertEquals("", old.out, "no token may be printed");
        Result again = run(Map.of("KEYSWAP_MASTER_KEY", newKey, "KEYSWAP_OLD_MASTER_KEY", oldKey), "vault", "rotate");
        assertEquals(0, again.code, again.err);
        assertTrue(again.err.startsWith("keyswap: re-sealed 0 secrets in 0 batches;"), again.err);
    }

    @Test
    void rotateWithoutTheOldKeyIsRefusedAndChangesNothing() {
        String token = createToken(Map.of("KEYSWAP_MASTER_KEY", oldKey));
        Result r = run(Map.of("KEYSWAP_MASTER_KEY", newKey), "vault", "rotate");
        assertEquals(1, r.code);
        assertEquals("keyswap: the master key does not match this database (key check " + Vault.keyId(MasterKey.parse("t", newKey))
                + " is not " + Vault.keyId(MasterKey.parse("t", oldKey))
                + "); set the right KEYSWAP_MASTER_KEY / vault.master_key / key file\n", r.err);
        // Still the old key's database: it works as before.
        assertTrue(tokenIsStored(token, MasterKey.parse("test", oldKey)));
        createToken(Map.of("KEYSWAP_MASTER_KEY", oldKey));
    }

    @Test
    void serveWithTheWrongKeyRefusesToStart() {
        createToken(Map.of("KEYSWAP_MASTER_KEY", oldKey));
        Result r = run(Map.of("KEYSWAP_MASTER_KEY", newKey), "serve");
        assertEquals(1, r.code);
        assertTrue(r.err.startsWith("keyswap: the master key does not match this database"), r.err);
        assertFalse(r.err.contains("serving on"), r.err);
    }

    @Test
    void malformedPreviousKeyExits1NamingTheEntryButNotItsValue() {
        String bad = "this-is-not-a-key-but-looks-secret-0123456789";
        Result r = run(Map.of("KEYSWAP_MASTER_KEY", newKey, "KEYSWAP_OLD_MASTER_KEY", bad), "vault", "rotate");
        assertEquals(1, r.code);
        assertTrue(r.err.contains("vault.previous_master_keys[0]"), r.err);
        assertFalse(r.err.contains(bad), r.err);
        assertFalse(Files.exists(db), "nothing is opened before the config is valid");
    }

    static Stream<Arguments> wrongCommandLines() {
        return Stream.of(
                Arguments.of(new String[] {"vault"}, "vault needs a subcommand: rotate"),
                Arguments.of(new String[] {"vault", "spin"}, "unknown vault subcommand 'spin'"),
                Arguments.of(new String[] {"vault", "rotate", "now"}, "vault rotate takes options only"),
                Arguments.of(new String[] {"vault", "rotate", "--batch", "0"}, "--batch must be a positive whole number"),
                Arguments.of(new String[] {"vault", "rotate", "--batch", "many"}, "--batch must be a positive whole number"),
                Arguments.of(new String[] {"vault", "rotate", "--name", "x"}, "unknown option --name"));
    }

    @ParameterizedTest(name = "{1}")
    @MethodSource("wrongCommandLines")
    void wrongCommandLineExits2WithAMessage(String[] args, String message) {
        Result r = run(Map.of("KEYSWAP_MASTER_KEY", newKey), args);
        assertEquals(2, r.code, r.err);
        assertTrue(r.err.startsWith("keyswap: " + message), r.err);
        assertTrue(r.err.contains("vault rotate [--batch N]"), "the usage lists the command: " + r.err);
        assertFalse(Files.exists(db), "a refused command opens nothing");
    }

    // --- helpers ---

    record Result(int code, String out, String err) {
    }

    private Result run(Map<String, String> env, String... args) {
        String[] withConfig = Stream.concat(Stream.of(args), Stream.of("--config", config.toString())).toArray(String[]::new);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code;
        try (PrintStream o = new PrintStream(out, true, StandardCharsets.UTF_8);
             PrintStream e = new PrintStream(err, true, StandardCharsets.UTF_8)) {
            code = new Cli(o, e, new HashMap<>(env)).run(withConfig);
        }
        Result r = new Result(code, out.toString(StandardCharsets.UTF_8).replace("\r\n", "\n"),
                err.toString(StandardCharsets.UTF_8).replace("\r\n", "\n"));
        outputs.add(r.out + r.err);
        return r;
    }

    private String createToken(Map<String, String> env) {
        Result r = run(env, "keys", "create", "--name", "k" + tokens.size());
        assertEquals(0, r.code, r.err);
        String token = r.out.lines().findFirst().orElseThrow();
        tokens.add(token);
        return token;
    }

    /** Looked up exactly as serve does: the stored pepper, opened with the given master key. */
    private boolean tokenIsStored(String token, MasterKey key) {
        try (Database d = Database.open("jdbc:sqlite:" + db)) {
            TokenHasher hasher = new TokenHasher(VaultKeys.open(d, new Vault(List.of(key)), key).tokenPepper());
            return new ApiKeyStore(d).findByTokenHash(hasher.hash(token)).isPresent();
        }
    }
}
