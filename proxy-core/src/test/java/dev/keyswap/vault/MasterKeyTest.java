package dev.keyswap.vault;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Arrays;
import java.util.Base64;
import java.util.HexFormat;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class MasterKeyTest {
    private static final byte[] SALT = "salt".getBytes(StandardCharsets.US_ASCII);

    @TempDir
    Path dir;

    /** A key whose bytes include 0xfb/0xff so base64 and base64url spell it differently. */
    private static byte[] sampleKey() {
        byte[] key = new byte[32];
        for (int i = 0; i < key.length; i++) {
            key[i] = (byte) (0xff - i * 2);
        }
        return key;
    }

    private static byte[] fingerprint(MasterKey key) {
        return key.derive(SALT, "fingerprint", 32);
    }

    @Test
    void hkdfMatchesRfc5869TestCase1() {
        HexFormat hex = HexFormat.of();
        byte[] ikm = hex.parseHex("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b");
        byte[] salt = hex.parseHex("000102030405060708090a0b0c");
        byte[] info = hex.parseHex("f0f1f2f3f4f5f6f7f8f9");
        byte[] okm = MasterKey.hkdfSha256(ikm, salt, info, 42);
        assertEquals("3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865",
                hex.formatHex(okm));
    }

    @Test
    void deriveIsHkdfOfTheRawKeyWithUtf8Info() {
        byte[] raw = sampleKey();
        byte[] expected = MasterKey.hkdfSha256(raw, SALT, "info ✓".getBytes(StandardCharsets.UTF_8), 48);
        assertArrayEquals(expected, MasterKey.of(raw).derive(SALT, "info ✓", 48));
    }

    @Test
    void deriveIsDeterministicAndSeparatedByInfoAndSalt() {
        MasterKey key = MasterKey.of(sampleKey());
        byte[] a = key.derive(SALT, "purpose a", 32);
        assertArrayEquals(a, MasterKey.of(sampleKey()).derive(SALT, "purpose a", 32));
        assertFalse(Arrays.equals(a, key.derive(SALT, "purpose b", 32)));
        assertFalse(Arrays.equals(a, key.derive("other salt".getBytes(StandardCharsets.US_ASCII), "purpose a", 32)));
    }

    @Test
    void deriveRejectsLengthsHkdfCannotProduce() {
        MasterKey key = MasterKey.of(sampleKey());
        assertThrows(IllegalArgumentException.class, () -> key.derive(SALT, "x", 0));
        assertThrows(IllegalArgumentException.class, () -> key.derive(SALT, "x", 255 * 32 + 1));
    }

    @Test
    void ofRequiresExactly32Bytes() {
        assertThrows(IllegalArgumentException.class, () -> MasterKey.of(new byte[31]));
        assertThrows(IllegalArgumentException.class, () -> MasterKey.of(new byte[33]));
        assertThrows(IllegalArgumentException.class, () -> MasterKey.of(null));
    }

    @Test
    void ofCopiesTheCallersArray() {
        byte[] raw = sampleKey();
        MasterKey key = MasterKey.of(raw);
        byte[] before = fingerprint(key);
        Arrays.fill(raw, (byte) 0);
        assertArrayEquals(before, fingerprint(key));
    }

    @Test
    void toStringIsMasked() {
        MasterKey key = MasterKey.of(sampleKey());
        assertEquals("MasterKey[****]", key.toString());
    }

    static Stream<String> encodingsOfSampleKey() {
        byte[] raw = sampleKey();
        return Stream.of(
                Base64.getEncoder().encodeToString(raw),
                Base64.getEncoder().withoutPadding().encodeToString(raw),
                Base64.getUrlEncoder().encodeToString(raw),
                Base64.getUrlEncoder().withoutPadding().encodeToString(raw),
                HexFormat.of().formatHex(raw),
                HexFormat.of().withUpperCase().formatHex(raw),
                "  " + Base64.getEncoder().encodeToString(raw) + "\n");
    }

    @ParameterizedTest
    @MethodSource("encodingsOfSampleKey")
    void everyAcceptedEncodingYieldsTheSameKey(String encoded) {
        MasterKey loaded = MasterKey.load(encoded, null, dir.resolve("unused.key"));
        assertArrayEquals(fingerprint(MasterKey.of(sampleKey())), fingerprint(loaded));
        assertFalse(Files.exists(dir.resolve("unused.key")), "a key file must not be created when a value is given");
    }

    @Test
    void environmentWinsOverConfigAndFile() {
        byte[] other = new byte[32];
        String env = Base64.getEncoder().encodeToString(sampleKey());
        String config = Base64.getEncoder().encodeToString(other);
        MasterKey loaded = MasterKey.load(env, config, dir.resolve("unused.key"));
        assertArrayEquals(fingerprint(MasterKey.of(sampleKey())), fingerprint(loaded));
    }

    @Test
    void configIsUsedWhenEnvironmentIsAbsentOrBlank() {
        String config = HexFormat.of().formatHex(sampleKey());
        byte[] expected = fingerprint(MasterKey.of(sampleKey()));
        assertArrayEquals(expected, fingerprint(MasterKey.load(null, config, dir.resolve("unused.key"))));
        assertArrayEquals(expected, fingerprint(MasterKey.load("  ", config, dir.resolve("unused.key"))));
    }

    @Test
    void missingKeyFileIsCreatedOwnerOnlyWithParentDirectories() throws Exception {
        Path file = dir.resolve("a/b/master.key");
        MasterKey created = MasterKey.load(null, "", file);

        assertTrue(Files.isRegularFile(file));
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(file)));
        String content = Files.readString(file, StandardCharsets.US_ASCII);
        assertTrue(content.endsWith("\n"));
        assertEquals(32, Base64.getDecoder().decode(content.strip()).length);
        assertArrayEquals(fingerprint(MasterKey.load(content, null, null)), fingerprint(created));
    }

    @Test
    void existingKeyFileIsReusedAcrossRuns() {
        Path file = dir.resolve("master.key");
        MasterKey first = MasterKey.load(null, null, file);
        MasterKey second = MasterKey.load(null, null, file);
        assertArrayEquals(fingerprint(first), fingerprint(second));
    }

    @Test
    void twoCreatedKeyFilesHoldDifferentKeys() {
        MasterKey a = MasterKey.load(null, null, dir.resolve("a.key"));
        MasterKey b = MasterKey.load(null, null, dir.resolve("b.key"));
        assertFalse(Arrays.equals(fingerprint(a), fingerprint(b)));
    }

    static Stream<String> malformedValues() {
        return Stream.of(
                "not-a-key-at-all!!",
                Base64.getEncoder().encodeToString(new byte[16]),        // too short
                Base64.getEncoder().encodeToString(new byte[33]),        // too long
                HexFormat.of().formatHex(new byte[31]) + "zz",           // 64 chars, not hex, not 32 bytes
                "c2VjcmV0LXZhbHVl$$$$");
    }

    @ParameterizedTest
    @MethodSource("malformedValues")
    void malformedEnvironmentValueIsNamedButNotQuoted(String bad) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> MasterKey.load(bad, null, dir.resolve("unused.key")));
        assertTrue(e.getMessage().contains("KEYSWAP_MASTER_KEY"), e.getMessage());
        assertFalse(e.getMessage().contains(bad.strip()), "message must not quote the value");
        assertNoCauseQuotes(e, bad.strip());
    }

    @ParameterizedTest
    @MethodSource("malformedValues")
    void malformedConfigValueIsNamedButNotQuoted(String bad) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> MasterKey.load(null, bad, dir.resolve("unused.key")));
        assertTrue(e.getMessage().contains("vault.master_key"), e.getMessage());
        assertFalse(e.getMessage().contains(bad.strip()), "message must not quote the value");
        assertNoCauseQuotes(e, bad.strip());
    }

    @Test
    void malformedKeyFileIsNamedByPathButNotQuoted() throws Exception {
        Path file = dir.resolve("bad.key");
        String bad = "c2VjcmV0LXZhbHVl";
        Files.writeString(file, bad + "\n");
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> MasterKey.load(null, null, file));
        assertTrue(e.getMessage().contains(file.toString()), e.getMessage());
        assertFalse(e.getMessage().contains(bad));
    }

    @Test
    void sharedKeyFileLoadsWithAWarningThatOmitsTheKey() throws Exception {
        Path file = dir.resolve("shared.key");
        String encoded = Base64.getEncoder().encodeToString(sampleKey());
        Files.writeString(file, encoded + "\n");
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-r--r--"));

        String stderr = captureStderr(() -> assertArrayEquals(
                fingerprint(MasterKey.of(sampleKey())), fingerprint(MasterKey.load(null, null, file))));

        assertTrue(stderr.contains("WARN") && stderr.contains(file.toString()), stderr);
        assertFalse(stderr.contains(encoded));
    }

    @Test
    void ownerOnlyKeyFileLoadsWithoutWarning() throws Exception {
        Path file = dir.resolve("private.key");
        MasterKey.load(null, null, file);
        String stderr = captureStderr(() -> MasterKey.load(null, null, file));
        assertFalse(stderr.contains("WARN"), stderr);
    }

    private static void assertNoCauseQuotes(Throwable e, String bad) {
        for (Throwable t = e.getCause(); t != null; t = t.getCause()) {
            assertFalse(String.valueOf(t.getMessage()).contains(bad));
        }
    }

    /** slf4j-simple writes to whatever System.err is at the time of the call. */
    private static String captureStderr(Runnable action) {
        PrintStream original = System.err;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
        try {
            action.run();
        } finally {
            System.setErr(original);
        }
        return captured.toString(StandardCharsets.UTF_8);
    }
}
